"""Alert tools: list (read-only), acknowledge and resolve (non-destructive, idempotent: seeded ``auto``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.core.bounds import Id
from hub.core.describe import Description
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.alerts import service
from native_rmm.alerts.describe import describe_alert_action
from native_rmm.alerts.schemas import AlertOut
from native_rmm.models.alerts import AlertSeverity, AlertSource, AlertStatus

SOURCE = "native_rmm"
StatusFilter = Literal["active", "open", "acknowledged", "resolved", "any"]


class ListAlertsArgs(BaseModel):
    """Arguments of ``rmm-list-alerts``."""

    model_config = ConfigDict(extra="forbid")

    device_id: Id | None = Field(default=None, description="only alerts of this device")
    status: StatusFilter = Field(default="active", description="'active' = open or acknowledged")
    severity: AlertSeverity | None = Field(default=None, description="only this severity")
    source: AlertSource | None = Field(default=None, description="metric thresholds or synthetic monitors")
    limit: int = Field(default=50, ge=1, le=200)


class AlertRef(BaseModel):
    """Arguments of ``rmm-acknowledge-alert`` / ``rmm-resolve-alert``."""

    model_config = ConfigDict(extra="forbid")

    alert_id: Id = Field(description="the alert's id (from rmm-list-alerts)")


class AlertList(BaseModel):
    """Result of ``rmm-list-alerts``."""

    count: int
    alerts: list[AlertOut]


async def list_alerts(ctx: ToolContext, args: ListAlertsArgs) -> AlertList:
    """List RMM alerts (metric thresholds and synthetic monitors), newest first.

    Filter by device, status (default: active = open or acknowledged), severity and source.
    """
    status = None if args.status in ("active", "any") else AlertStatus(args.status)
    rows = await service.list_alerts(
        ctx.session,
        org_id=ctx.org_id,
        device_id=args.device_id,
        status=status,
        active_only=args.status == "active",
        severity=args.severity,
        source=args.source,
        limit=args.limit,
    )
    return AlertList(count=len(rows), alerts=[AlertOut.of(a) for a in rows])


async def acknowledge_alert(ctx: ToolContext, args: AlertRef) -> AlertOut:
    """Acknowledge an open RMM alert: someone is looking at it (it stays active until resolved)."""
    alert = await service.acknowledge_alert(
        ctx.session, org_id=ctx.org_id, alert_id=args.alert_id, actor=ctx.caller, bus=ctx.bus
    )
    return AlertOut.of(alert)


async def resolve_alert(ctx: ToolContext, args: AlertRef) -> AlertOut:
    """Resolve an RMM alert by hand. If the condition persists, a new alert is raised later."""
    alert = await service.resolve_alert(
        ctx.session, org_id=ctx.org_id, alert_id=args.alert_id, actor=ctx.caller, bus=ctx.bus
    )
    return AlertOut.of(alert)


async def describe_acknowledge(ctx: ToolContext, args: AlertRef) -> Description:
    """``Acknowledge alert #7 'Disk 93 %' (warning) on LDN-LAP-07 (Northwind / London)``."""
    return await describe_alert_action(ctx, "Acknowledge", args.alert_id)


async def describe_resolve(ctx: ToolContext, args: AlertRef) -> Description:
    """``Resolve alert #7 '...' on <device>`` (a persisting condition raises a new one)."""
    return await describe_alert_action(ctx, "Resolve", args.alert_id)


_SAFE_WRITE = ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False)


def tools() -> list[Tool]:
    """The alert tools (global: they act in the caller's organisation)."""
    return [
        model_tool(
            source=SOURCE,
            name="rmm-list-alerts",
            args_model=ListAlertsArgs,
            handler=list_alerts,
            annotations=ToolAnnotations(read_only=True, open_world=False),
            min_role=Role.VIEWER,
            title="List alerts",
            category="alerts",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-acknowledge-alert",
            args_model=AlertRef,
            handler=acknowledge_alert,
            describe=describe_acknowledge,
            annotations=_SAFE_WRITE,
            title="Acknowledge alert",
            category="alerts",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-resolve-alert",
            args_model=AlertRef,
            handler=resolve_alert,
            describe=describe_resolve,
            annotations=_SAFE_WRITE,
            title="Resolve alert",
            category="alerts",
        ),
    ]
