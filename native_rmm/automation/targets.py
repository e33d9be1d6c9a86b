"""Target resolution for schedules: device, site or customer ids -> the organisation's live devices.

A small stand-in until the shared typed targets resolver (tags, groups) lands in ``native_rmm.devices``;
then this module delegates to it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.models import Customer, Site
from native_rmm.automation.schedule_schemas import TargetSpec
from native_rmm.models.devices import Device


async def resolve_targets(session: AsyncSession, *, org_id: int, target: TargetSpec) -> list[int]:
    """Ids of the organisation's installed devices the target names, in id order."""
    stmt = select(Device.id).where(Device.org_id == org_id, Device.uninstalled_at.is_(None))
    if target.kind == "device":
        stmt = stmt.where(Device.id.in_(target.ids))
    elif target.kind == "site":
        stmt = stmt.join(Site, Site.id == Device.site_id).join(Customer, Customer.id == Site.customer_id).where(
            Site.id.in_(target.ids), Customer.org_id == org_id)  # fmt: skip
    else:
        stmt = stmt.join(Site, Site.id == Device.site_id).join(Customer, Customer.id == Site.customer_id).where(
            Customer.id.in_(target.ids), Customer.org_id == org_id)  # fmt: skip
    return list((await session.scalars(stmt.order_by(Device.id))).all())
