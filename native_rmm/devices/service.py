"""Device services for operators, tools and pages: find, list, create by hand, retire, patches.

Plain functions taking a session (flush, never commit). Everything is scoped by ``org_id``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import CommandStatus, OsFamily, PatchStatus
from hub.core import audit
from hub.core.audit import Actor, AuditEvent
from hub.core.db import get_in_org, utcnow
from hub.core.errors import ToolError, ToolNotFoundError
from hub.core.events import EventBus
from hub.core.models import Customer, Site
from hub.core.tenancy import get_site, unassigned_site
from hub.core.uow import publish_after_commit
from native_rmm.devices import credentials
from native_rmm.devices.queries import DeviceFilters, filter_devices
from native_rmm.events import DEVICE_STATUS_CHANGED, DeviceStatusChanged
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device, DeviceStatus, InstalledApplication, PatchRecord

FUZZY_CANDIDATES = 20_000


@dataclass(frozen=True)
class DeviceRow:
    """A device with the names of its site and customer (lists)."""

    device: Device
    site_name: str
    customer_id: int
    customer_name: str


async def get_device(session: AsyncSession, *, org_id: int, device_id: int) -> Device:
    """One device of the organisation, or :class:`ToolNotFoundError`."""
    device = await get_in_org(session, Device, device_id, org_id)
    if device is None:
        raise ToolNotFoundError(f"device #{device_id} does not exist; rmm-list-devices lists the devices")
    return device


async def resolve_device(session: AsyncSession, *, org_id: int, ref: int | str) -> Device:
    """A device by id, or by hostname / display name (case-insensitive; ambiguity is an error)."""
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        return await get_device(session, org_id=org_id, device_id=int(text))
    lowered = text.lower()
    stmt = select(Device).where(
        Device.org_id == org_id,
        or_(func.lower(Device.hostname) == lowered, func.lower(Device.display_name) == lowered),
    )
    found = (await session.execute(stmt.order_by(Device.uninstalled_at.is_not(None), Device.id))).scalars().all()
    live = [d for d in found if d.uninstalled_at is None] or list(found)
    if len(live) == 1:
        return live[0]
    if len(live) > 1:
        ids = ", ".join(f"#{d.id}" for d in live[:10])
        raise ToolError(f"several devices are called {text!r} ({ids}); pass the device id")
    raise ToolNotFoundError(f"no device called {text!r}; rmm-list-devices with query={text!r} searches by name")


def _base_list_query(org_id: int) -> Select[Device, str, int, str]:
    return (
        select(Device, Site.name, Customer.id, Customer.name)
        .join(Site, Site.id == Device.site_id)
        .join(Customer, Customer.id == Site.customer_id)
        .where(Device.org_id == org_id)
    )


async def list_devices(
    session: AsyncSession,
    *,
    org_id: int,
    filters: DeviceFilters,
    limit: int = 100,
    offset: int = 0,
) -> list[DeviceRow]:
    """Devices matching ``filters`` (:func:`~native_rmm.devices.queries.filter_devices`), by hostname.

    When the text query matches nothing, the closest names (typos, ``lon dc 1`` for ``LON-DC-01``)
    are returned instead.
    """
    stmt = filter_devices(_base_list_query(org_id), org_id, filters)
    base = filter_devices(_base_list_query(org_id), org_id, filters, with_query=False)
    rows = (await session.execute(stmt.order_by(Device.hostname, Device.id).offset(offset).limit(limit))).all()
    query = filters.q.strip()
    if not rows and query and offset == 0:
        rows = await _fuzzy(session, base, query, limit)
    return [DeviceRow(r[0], r[1], r[2], r[3]) for r in rows]


async def _fuzzy(
    session: AsyncSession, base: Select[Device, str, int, str], query: str, limit: int
) -> list[Row[Device, str, int, str]]:
    def norm(s: str) -> str:
        return "".join(ch for ch in s.lower() if ch.isalnum())

    names = (await session.execute(base.with_only_columns(Device.id, Device.hostname).limit(FUZZY_CANDIDATES))).all()
    by_norm: dict[str, list[int]] = {}
    for device_id, hostname in names:
        by_norm.setdefault(norm(hostname), []).append(device_id)
    close = difflib.get_close_matches(norm(query), list(by_norm), n=limit, cutoff=0.6)
    ids = [i for name in close for i in by_norm[name]][:limit]
    if not ids:
        return []
    rows = (await session.execute(base.where(Device.id.in_(ids)))).all()
    order = {device_id: n for n, device_id in enumerate(ids)}
    return sorted(rows, key=lambda r: order[r[0].id])


async def count_by_status(session: AsyncSession, *, org_id: int) -> dict[DeviceStatus, int]:
    """How many devices of the organisation are in each status."""
    rows = await session.execute(
        select(Device.status, func.count()).where(Device.org_id == org_id).group_by(Device.status)
    )
    counts = dict.fromkeys(DeviceStatus, 0)
    counts.update({s: n for s, n in rows.all()})
    return counts


async def create_device(
    session: AsyncSession,
    *,
    org_id: int,
    hostname: str,
    actor: Actor,
    site_id: int | None = None,
    os_family: OsFamily | None = None,
    display_name: str = "",
) -> tuple[Device, str]:
    """Create a device by hand (admin-only at the edges) with a credential shown once.

    The supported way to add devices is an installer; this is for agents provisioned out of band.
    """
    hostname = hostname.strip()
    if not hostname:
        raise ToolError("a device needs a hostname")
    site = await get_site(session, org_id, site_id) if site_id is not None else await unassigned_site(session, org_id)
    device = Device(
        org_id=org_id,
        site_id=site.id,
        hostname=hostname[:255],
        display_name=display_name[:255],
        os_family=os_family,
        status=DeviceStatus.OFFLINE,
        ip_addresses=[],
        interfaces=[],
        hardware={},
    )
    session.add(device)
    await session.flush()
    plain = await credentials.issue_credential(session, device_id=device.id)
    audit.record(
        session,
        event=AuditEvent.DEVICE_CHANGED,
        actor=actor,
        org_id=org_id,
        outcome="device.created",
        detail={"device_id": device.id, "hostname": device.hostname, "site_id": site.id},
    )
    return device, plain


async def mark_uninstalled(
    session: AsyncSession, device: Device, *, reason: str, bus: EventBus | None, now: datetime | None = None
) -> None:
    """The agent is gone: revoke its credentials, cancel what it never picked up, status UNINSTALLED."""
    now = now or utcnow()
    old = device.status
    device.uninstalled_at = now
    device.uninstall_reason = reason[:40]
    device.status, device.status_changed_at = DeviceStatus.UNINSTALLED, now
    device.ws_connected = False
    await credentials.revoke_credentials(session, device_id=device.id, reason=f"uninstalled: {reason}", now=now)
    pending = await session.execute(
        select(Command).where(
            Command.device_id == device.id, Command.status.in_((CommandStatus.QUEUED, CommandStatus.DELIVERED))
        )
    )
    for command in pending.scalars():
        command.status, command.finished_at = CommandStatus.CANCELLED, now
        command.error = "the agent was uninstalled before it ran this command"
    await session.flush()
    if bus is not None and old is not DeviceStatus.UNINSTALLED:
        publish_after_commit(
            session,
            bus,
            DEVICE_STATUS_CHANGED.event(
                device.org_id, DeviceStatusChanged(device_id=device.id, old=old, new=DeviceStatus.UNINSTALLED)
            ),
        )


async def list_applications(
    session: AsyncSession, *, device_id: int, search: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[Sequence[InstalledApplication], int]:
    """Installed applications of a device matching ``search`` (name or publisher), and the total count."""
    stmt = select(InstalledApplication).where(InstalledApplication.device_id == device_id)
    if search:
        needle = search.strip().lower()
        stmt = stmt.where(
            or_(
                func.lower(InstalledApplication.name).contains(needle, autoescape=True),
                func.lower(InstalledApplication.publisher).contains(needle, autoescape=True),
            )
        )
    total = (await session.execute(stmt.with_only_columns(func.count()))).scalar_one()
    page = stmt.order_by(func.lower(InstalledApplication.name), InstalledApplication.id).offset(offset).limit(limit)
    return (await session.execute(page)).scalars().all(), int(total)


async def list_patches(
    session: AsyncSession, *, device_id: int, status: PatchStatus | None = None
) -> Sequence[PatchRecord]:
    """Patch records of a device, pending first, then by key."""
    stmt = select(PatchRecord).where(PatchRecord.device_id == device_id)
    if status is not None:
        stmt = stmt.where(PatchRecord.status == status)
    order = (PatchRecord.status != PatchStatus.PENDING, PatchRecord.key)
    return (await session.execute(stmt.order_by(*order))).scalars().all()


async def mark_patch_applied(
    session: AsyncSession, *, device_id: int, key: str | None = None, patch_id: int | None = None, by: str
) -> PatchRecord:
    """Record a patch as installed by hand.

    It stays so until the agent reports a changed patch list that still has it pending.
    """
    stmt = select(PatchRecord).where(PatchRecord.device_id == device_id)
    if patch_id is not None:
        stmt = stmt.where(PatchRecord.id == patch_id)
    elif key:
        stmt = stmt.where(PatchRecord.key == key)
    else:
        raise ToolError("name the patch: its id or its key (KB number / package)")
    record = (await session.execute(stmt)).scalar_one_or_none()
    if record is None:
        raise ToolNotFoundError(
            f"device #{device_id} has no patch {patch_id or key!r}; rmm-get-device-patches lists them"
        )
    if record.status is not PatchStatus.INSTALLED:
        now = utcnow()
        record.status, record.installed_at, record.updated_at, record.marked_by = PatchStatus.INSTALLED, now, now, by
        await session.flush()
    return record
