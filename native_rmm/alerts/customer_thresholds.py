"""Per-customer metric thresholds: a customer's own set overrides the organisation's for its devices.

The batched ingest evaluates many samples per session, so device -> customer and customer -> set are
cached in the session's unit of work (one read each per session).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller
from hub.core.changes import record_change, require_admin
from hub.core.db import require_in_org, utcnow
from hub.core.models import Customer, Site
from hub.core.uow import Slot, uow_of
from native_rmm.alerts.schemas import Thresholds, ThresholdsOut
from native_rmm.alerts.thresholds import get_thresholds
from native_rmm.models.alerts import CustomerThresholds
from native_rmm.models.devices import Device

_CUSTOMER_OF: Slot[dict[int, int | None]] = Slot("native_rmm.device_customer", dict)
_SETS: Slot[dict[int, ThresholdsOut | None]] = Slot("native_rmm.customer_thresholds", dict)


def _out(row: CustomerThresholds) -> ThresholdsOut:
    values = {name: getattr(row, name) for name in Thresholds.model_fields}
    return ThresholdsOut(**values, is_default=False, updated_at=row.updated_at, updated_by=row.updated_by_label)


async def customer_set(session: AsyncSession, customer_id: int) -> ThresholdsOut | None:
    """The customer's own set (None: it follows the organisation's)."""
    cache = uow_of(session).slot(_SETS)
    if customer_id not in cache:
        row = await session.scalar(select(CustomerThresholds).where(CustomerThresholds.customer_id == customer_id))
        cache[customer_id] = _out(row) if row is not None else None
    return cache[customer_id]


async def thresholds_for_device(session: AsyncSession, *, org_id: int, device_id: int) -> ThresholdsOut:
    """The set that judges this device: its customer's when it has one, else the organisation's."""
    owners = uow_of(session).slot(_CUSTOMER_OF)
    if device_id not in owners:
        owners[device_id] = await session.scalar(
            select(Site.customer_id).join(Device, Device.site_id == Site.id).where(Device.id == device_id)
        )
    customer_id = owners[device_id]
    own = await customer_set(session, customer_id) if customer_id is not None else None
    return own if own is not None else await get_thresholds(session, org_id)


@dataclass(frozen=True)
class CustomerThresholdsView:
    """What the per-customer form shows: the customer, its own set (None: it follows the organisation's)
    and the organisation's set."""

    customer_id: int
    customer: str
    own: ThresholdsOut | None
    organisation: ThresholdsOut

    @property
    def effective(self) -> ThresholdsOut:
        """The set that judges the customer's devices now."""
        return self.own if self.own is not None else self.organisation


async def customer_view(session: AsyncSession, *, org_id: int, customer_id: int) -> CustomerThresholdsView:
    """The customer's own set and the organisation's (read; :class:`NotFound` for another tenant's)."""
    customer = await require_in_org(
        session, Customer, customer_id, org_id, missing=f"customer {customer_id} does not exist"
    )
    return CustomerThresholdsView(
        customer_id=customer.id,
        customer=customer.name,
        own=await customer_set(session, customer.id),
        organisation=await get_thresholds(session, org_id),
    )


async def customers_with_own_sets(session: AsyncSession, *, org_id: int) -> list[tuple[int, str, ThresholdsOut]]:
    """``(customer id, name, set)`` of every customer with its own set, by name (one statement)."""
    stmt = (
        select(CustomerThresholds, Customer.name)
        .join(Customer, Customer.id == CustomerThresholds.customer_id)
        .where(CustomerThresholds.org_id == org_id)
        .order_by(Customer.name)
    )
    return [(row.customer_id, name, _out(row)) for row, name in (await session.execute(stmt)).all()]


async def _customer(session: AsyncSession, actor: Caller, customer_id: int) -> Customer:
    require_admin(actor, "only admins can change metric thresholds")
    return await require_in_org(
        session, Customer, customer_id, actor.org_id, missing=f"customer {customer_id} does not exist"
    )


async def set_customer_thresholds(
    session: AsyncSession, *, actor: Caller, customer_id: int, values: Thresholds
) -> ThresholdsOut:
    """Save a customer's own set (admin; audited)."""
    customer = await _customer(session, actor, customer_id)
    row = await session.scalar(select(CustomerThresholds).where(CustomerThresholds.customer_id == customer.id))
    if row is None:
        row = CustomerThresholds(org_id=actor.org_id, customer_id=customer.id, **values.model_dump())
        session.add(row)
    else:
        for name, value in values.model_dump().items():
            setattr(row, name, value)
    row.updated_at, row.updated_by_label = utcnow(), actor.label
    await session.flush()
    record_change(
        session,
        actor=actor.actor,
        org_id=actor.org_id,
        outcome="rmm.thresholds.customer_updated",
        detail={"customer_id": customer.id, "new": values.model_dump()},
    )
    saved = _out(row)
    uow_of(session).slot(_SETS)[customer.id] = saved
    return saved


async def clear_customer_thresholds(session: AsyncSession, *, actor: Caller, customer_id: int) -> None:
    """Drop a customer's own set: its devices follow the organisation's again."""
    customer = await _customer(session, actor, customer_id)
    row = await session.scalar(select(CustomerThresholds).where(CustomerThresholds.customer_id == customer.id))
    if row is not None:
        await session.delete(row)
        record_change(
            session,
            actor=actor.actor,
            org_id=actor.org_id,
            outcome="rmm.thresholds.customer_cleared",
            detail={"customer_id": customer.id},
        )
    uow_of(session).slot(_SETS)[customer.id] = None
