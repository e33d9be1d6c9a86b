"""Customers and sites as an MSP runs them: create, rename, archive (only once no device remains).

Creating is :mod:`hub.core.tenancy`'s (every organisation's ``Unassigned`` customer comes from
there); this module adds the rules that need devices: a customer or site with devices is never
archived, the ``Unassigned`` customer and site are never renamed or archived, and an archived site
takes no devices. Every change is audited. Services flush, never commit.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit, tenancy
from hub.core.audit import Actor, AuditEvent
from hub.core.db import utcnow
from hub.core.errors import Conflict
from hub.core.models import Customer, Site
from native_rmm.models.devices import Device, DeviceStatus


def _audit(session: AsyncSession, *, org_id: int, actor: Actor, outcome: str, **detail: object) -> None:
    audit.record(session, event=AuditEvent.DEVICE_CHANGED, actor=actor, org_id=org_id, outcome=outcome,
                 detail=dict(detail))  # fmt: skip


async def live_devices(session: AsyncSession, *, site_ids: list[int]) -> int:
    """Devices (with an agent, i.e. not uninstalled) on these sites."""
    stmt = (
        select(func.count())
        .select_from(Device)
        .where(Device.site_id.in_(site_ids), Device.status != DeviceStatus.UNINSTALLED)
    )
    return int((await session.execute(stmt)).scalar_one())


async def _name_free(session: AsyncSession, *, org_id: int, name: str, customer_id: int | None = None) -> None:
    stmt = select(Customer.id).where(Customer.org_id == org_id, func.lower(Customer.name) == name.lower())
    if customer_id is not None:
        stmt = stmt.where(Customer.id != customer_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"a customer called {name!r} already exists; pick another name")


async def create_customer(session: AsyncSession, *, org_id: int, name: str, actor: Actor, site: str = "") -> Customer:
    """A new customer with its first site (``site``, default ``Main``)."""
    name = name.strip()
    await _name_free(session, org_id=org_id, name=name)
    customer = await tenancy.create_customer(session, org_id=org_id, name=name, first_site=site.strip() or "Main")
    _audit(session, org_id=org_id, actor=actor, outcome="customer.created", customer_id=customer.id, name=name)
    return customer


async def update_customer(
    session: AsyncSession, *, org_id: int, customer_id: int, actor: Actor, name: str | None = None,
    archived: bool | None = None,
) -> Customer:  # fmt: skip
    """Rename and/or archive (or restore) a customer.

    Raises:
        NotFound: no such customer in the organisation.
        Conflict: the name is taken, it is the ``Unassigned`` customer, or devices remain on its sites.
    """
    customer = await tenancy.get_customer(session, org_id, customer_id)
    if customer.is_unassigned and (name is not None or archived):
        raise Conflict("the Unassigned customer is where new devices land; it cannot be renamed or archived")
    if name is not None and name.strip() != customer.name:
        await _name_free(session, org_id=org_id, name=name.strip(), customer_id=customer.id)
        _audit(session, org_id=org_id, actor=actor, outcome="customer.renamed", customer_id=customer.id,
               old=customer.name, new=name.strip())  # fmt: skip
        customer.name = name.strip()
    if archived is not None and archived != (customer.archived_at is not None):
        if archived:
            sites = list((await session.execute(select(Site.id).where(Site.customer_id == customer.id))).scalars())
            remaining = await live_devices(session, site_ids=sites)
            if remaining:
                raise Conflict(
                    f"{customer.name} still has {remaining} device(s); move them to another customer "
                    "(rmm-move-devices) before archiving it"
                )
        customer.archived_at = utcnow() if archived else None
        _audit(session, org_id=org_id, actor=actor, outcome="customer.archived" if archived else "customer.restored",
               customer_id=customer.id)  # fmt: skip
    await session.flush()
    return customer


async def create_site(session: AsyncSession, *, org_id: int, customer_id: int, name: str, actor: Actor) -> Site:
    """A new site of an (active) customer."""
    customer = await tenancy.get_customer(session, org_id, customer_id)
    if customer.archived_at is not None:
        raise Conflict(f"{customer.name} is archived; restore it before adding sites")
    site = await tenancy.create_site(session, org_id=org_id, customer_id=customer_id, name=name.strip())
    _audit(session, org_id=org_id, actor=actor, outcome="site.created", site_id=site.id, customer_id=customer_id,
           name=site.name)  # fmt: skip
    return site


async def update_site(
    session: AsyncSession, *, org_id: int, site_id: int, actor: Actor, name: str | None = None,
    archived: bool | None = None,
) -> Site:  # fmt: skip
    """Rename and/or archive (or restore) a site; the rules are those of :func:`update_customer`."""
    site = await tenancy.get_site(session, org_id, site_id)
    customer = await tenancy.get_customer(session, org_id, site.customer_id)
    if customer.is_unassigned and (name is not None or archived):
        raise Conflict("the Unassigned site is where new devices land; it cannot be renamed or archived")
    if name is not None and name.strip() != site.name:
        taken = select(Site.id).where(
            Site.customer_id == site.customer_id, func.lower(Site.name) == name.lower().strip()
        )
        if (await session.execute(taken.where(Site.id != site.id))).first() is not None:
            raise Conflict(f"{customer.name} already has a site called {name.strip()!r}")
        _audit(session, org_id=org_id, actor=actor, outcome="site.renamed", site_id=site.id, old=site.name,
               new=name.strip())  # fmt: skip
        site.name = name.strip()
    if archived is not None and archived != (site.archived_at is not None):
        if archived and (remaining := await live_devices(session, site_ids=[site.id])):
            raise Conflict(
                f"site {site.name} still has {remaining} device(s); move them (rmm-move-devices) before archiving it"
            )
        site.archived_at = utcnow() if archived else None
        _audit(session, org_id=org_id, actor=actor, outcome="site.archived" if archived else "site.restored",
               site_id=site.id)  # fmt: skip
    await session.flush()
    return site


async def open_site(session: AsyncSession, *, org_id: int, site_id: int) -> tuple[Site, Customer]:
    """A site devices may move to (neither it nor its customer archived), with its customer."""
    site = await tenancy.get_site(session, org_id, site_id)
    customer = await tenancy.get_customer(session, org_id, site.customer_id)
    if site.archived_at is not None or customer.archived_at is not None:
        raise Conflict(f"site {customer.name} / {site.name} is archived; restore it or pick another site")
    return site, customer
