"""Target resolution for schedules: the schedule's stored target spec through the shared typed resolver
(:mod:`native_rmm.devices.targets`), one spec per device list, site, customer, tag or group."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from native_rmm.automation.schedule_schemas import TargetSpec
from native_rmm.devices.targets import Targets, resolve_ids


async def resolve_targets(session: AsyncSession, *, org_id: int, target: TargetSpec) -> list[int]:
    """Ids of the organisation's devices the target names now, in id order.

    Raises:
        ToolError: nothing matches, or a named device/site/customer/group does not exist here.
    """
    if target.kind == "device":
        specs = [Targets(device_ids=target.ids)]
    elif target.kind == "site":
        specs = [Targets(site_id=i) for i in target.ids]
    elif target.kind == "customer":
        specs = [Targets(customer_id=i) for i in target.ids]
    elif target.kind == "tag":
        specs = [Targets(tag=target.name)]
    else:
        specs = [Targets(group=target.name)]
    found: set[int] = set()
    for spec in specs:
        found.update(await resolve_ids(session, org_id=org_id, targets=spec))
    return sorted(found)
