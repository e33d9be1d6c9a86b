"""Approval descriptions of the alert tools: ``Acknowledge alert #7 'Disk 93 %' on LDN-LAP-07 (Northwind / London)``."""

from __future__ import annotations

from hub.core.db import get_in_org
from hub.core.describe import Description
from hub.core.registry import ToolContext
from native_rmm.commands.describe import device_names
from native_rmm.models.alerts import Alert


async def describe_alert_action(ctx: ToolContext, verb: str, alert_id: int) -> Description:
    """``<verb> alert #N '<message>' (<severity>) on <device by name>``."""
    alert = await get_in_org(ctx.session, Alert, alert_id, ctx.org_id)
    if alert is None:
        return Description(summary=f"{verb} alert #{alert_id} (not found)")
    message = alert.message if len(alert.message) <= 200 else alert.message[:197] + "…"
    where = ""
    if alert.device_id is not None:
        (name,) = await device_names(ctx.session, org_id=ctx.org_id, device_ids=[alert.device_id])
        where = f" on {name}"
    return Description(summary=f"{verb} alert #{alert_id} '{message}' ({alert.severity.value}){where}")
