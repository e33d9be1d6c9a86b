"""Set up a customer's status page (admin; audited) and rotate its URL. Flushes, never commits.

What a page shows is validated against the organisation when it is saved: monitors of the
organisation, devices of that customer's sites. Each entry's public name is fixed at save time, so a
later rename of the device or monitor never reaches the page.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller
from hub.core.changes import record_change, require_admin
from hub.core.db import get_in_org, utcnow
from hub.core.errors import InvalidRequest, NotFound
from hub.core.models import Customer, Site
from native_rmm.models.devices import Device
from native_rmm.models.monitors import Monitor
from native_rmm.models.status_pages import StatusPage
from native_rmm.status_pages import tokens
from native_rmm.status_pages.schemas import ItemKind, StatusItem, StatusPageIn, StatusPageOut

DEFAULT_TITLE = "Service status"


async def customer_of(session: AsyncSession, *, org_id: int, customer_id: int) -> Customer:
    """The organisation's customer, or :class:`NotFound` (another tenant's is reported the same)."""
    customer = await get_in_org(session, Customer, customer_id, org_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist; rmm-list-customers lists them")
    return customer


async def page_of(session: AsyncSession, *, customer_id: int) -> StatusPage | None:
    """The customer's status page row, if it was ever set up."""
    return await session.scalar(select(StatusPage).where(StatusPage.customer_id == customer_id))


def out(customer: Customer, row: StatusPage | None, *, status_url: str | None = None) -> StatusPageOut:
    """The admin's view of a page (``status_url`` only when just minted)."""
    if row is None:
        return StatusPageOut(
            customer_id=customer.id,
            customer=customer.name,
            configured=False,
            enabled=False,
            title="",
            items=[],
            incident_days=7,
            has_url=False,
            url_rotated_at=None,
            updated_at=None,
            updated_by="",
        )
    return StatusPageOut(
        customer_id=customer.id,
        customer=customer.name,
        configured=True,
        enabled=row.enabled,
        title=row.title,
        items=[StatusItem.model_validate(i) for i in row.items],
        incident_days=row.incident_days,
        has_url=row.token_digest is not None,
        status_url=status_url,
        url_rotated_at=row.url_rotated_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by_label,
    )


async def _resolve_items(
    session: AsyncSession, *, org_id: int, customer_id: int, items: list[StatusItem]
) -> list[StatusItem]:
    """The items with their public names filled in; unknown or foreign ids are refused by name."""
    monitor_ids = [i.id for i in items if i.kind is ItemKind.MONITOR]
    device_ids = [i.id for i in items if i.kind is ItemKind.DEVICE]
    monitors: dict[int, str] = {}
    devices: dict[int, str] = {}
    if monitor_ids:
        stmt = select(Monitor.id, Monitor.name).where(Monitor.org_id == org_id, Monitor.id.in_(monitor_ids))
        monitors = {i: n for i, n in (await session.execute(stmt)).all()}
    if device_ids:
        stmt2 = (
            select(Device.id, Device.display_name, Device.hostname)
            .join(Site, Site.id == Device.site_id)
            .where(Device.org_id == org_id, Site.customer_id == customer_id, Device.id.in_(device_ids))
        )
        devices = {i: d or h for i, d, h in (await session.execute(stmt2)).all()}
    missing = [f"monitor #{i}" for i in monitor_ids if i not in monitors]
    missing += [f"device #{i}" for i in device_ids if i not in devices]
    if missing:
        raise InvalidRequest(
            f"{', '.join(missing)}: not a monitor of this organisation or a device of this customer; "
            "rmm-list-monitors and rmm-list-devices list them"
        )
    names = {ItemKind.MONITOR: monitors, ItemKind.DEVICE: devices}
    return [StatusItem(kind=i.kind, id=i.id, label=i.label.strip() or names[i.kind][i.id][:80]) for i in items]


def _audit(session: AsyncSession, actor: Caller, what: str, row: StatusPage, **detail: object) -> None:
    record_change(
        session, actor=actor.actor, org_id=actor.org_id, outcome=what, detail={"customer_id": row.customer_id, **detail}
    )


def _require_admin(actor: Caller) -> None:
    require_admin(actor, "only admins set up public status pages")


async def update_status_page(
    session: AsyncSession, *, actor: Caller, data: StatusPageIn, base_url: str
) -> StatusPageOut:
    """Create or change a customer's page; the first enable mints its URL (returned once)."""
    _require_admin(actor)
    customer = await customer_of(session, org_id=actor.org_id, customer_id=data.customer_id)
    if data.enabled and customer.archived_at is not None:
        raise InvalidRequest(f"customer {customer.name!r} is archived; restore it before publishing its status page")
    items = await _resolve_items(session, org_id=actor.org_id, customer_id=customer.id, items=data.items)
    row = await page_of(session, customer_id=customer.id)
    if row is None:
        row = StatusPage(org_id=actor.org_id, customer_id=customer.id)
        session.add(row)
    row.enabled = data.enabled
    row.title = data.title.strip() or DEFAULT_TITLE
    row.items = [i.model_dump(mode="json") for i in items]
    row.incident_days = data.incident_days
    row.updated_at, row.updated_by_label = utcnow(), actor.label
    minted: str | None = None
    if data.enabled and row.token_digest is None:
        minted, row.token_digest = tokens.mint()
        row.url_rotated_at = row.updated_at
    await session.flush()
    _audit(
        session,
        actor,
        "rmm.status_page.updated",
        row,
        enabled=row.enabled,
        items=len(items),
        incident_days=row.incident_days,
        url_minted=minted is not None,
    )
    return out(customer, row, status_url=tokens.url(base_url, minted) if minted else None)


async def rotate_status_page_url(
    session: AsyncSession, *, actor: Caller, customer_id: int, base_url: str
) -> StatusPageOut:
    """Mint a new URL for the page; the old one answers 404 from now on."""
    _require_admin(actor)
    customer = await customer_of(session, org_id=actor.org_id, customer_id=customer_id)
    row = await page_of(session, customer_id=customer.id)
    if row is None:
        raise NotFound(f"customer {customer.name!r} has no status page yet; set it up with rmm-update-status-page")
    token, row.token_digest = tokens.mint()
    row.url_rotated_at = row.updated_at = utcnow()
    row.updated_by_label = actor.label
    await session.flush()
    _audit(session, actor, "rmm.status_page.url_rotated", row)
    return out(customer, row, status_url=tokens.url(base_url, token))
