"""Synthetic monitors: CRUD (admin, audited), recording probe results, and alerting on failure streaks.

A run that does not pass (``warning`` or ``critical``) adds one to ``consecutive_failures``; when
the count reaches the monitor's ``failure_threshold`` an alert is raised (severity of the latest
result) and kept up to date while failures go on; the first passing run resets the count and
resolves the alert. Disabling or deleting a monitor resolves its alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller
from hub.core.changes import record_change, require_admin
from hub.core.db import require_in_org, utcnow
from hub.core.errors import InvalidRequest
from hub.core.events import EventBus
from native_rmm.alerts.service import auto_resolve, raise_alert
from native_rmm.models.alerts import AlertSeverity, AlertSource, monitor_key
from native_rmm.models.monitors import CheckState, Monitor
from native_rmm.monitors.checks import CheckResult, MonitorSpec, Probes, run_check
from native_rmm.monitors.schemas import MonitorIn, MonitorUpdate, _check_target


def _require_admin(actor: Caller) -> None:
    require_admin(actor, "only admins can change monitors")


def _audit(session: AsyncSession, actor: Caller, what: str, monitor: Monitor, detail: dict[str, object]) -> None:
    record_change(
        session,
        actor=actor.actor,
        org_id=actor.org_id,
        outcome=f"rmm.monitor.{what}",
        detail={"monitor_id": monitor.id, "name": monitor.name, **detail},
    )


async def list_monitors(session: AsyncSession, *, org_id: int, enabled: bool | None = None) -> Sequence[Monitor]:
    """Monitors of an organisation by name."""
    stmt = select(Monitor).where(Monitor.org_id == org_id)
    if enabled is not None:
        stmt = stmt.where(Monitor.enabled.is_(enabled))
    return (await session.execute(stmt.order_by(Monitor.name, Monitor.id))).scalars().all()


async def get_monitor(session: AsyncSession, *, org_id: int, monitor_id: int) -> Monitor:
    """One monitor of the organisation, or :class:`NotFound`."""
    return await require_in_org(session, Monitor, monitor_id, org_id, missing=f"monitor #{monitor_id} does not exist")


async def create_monitor(session: AsyncSession, *, actor: Caller, data: MonitorIn) -> Monitor:
    """Create a monitor in the actor's organisation (admin); it first runs at the next scheduler tick."""
    _require_admin(actor)
    now = utcnow()
    monitor = Monitor(
        org_id=actor.org_id,
        **data.model_dump(),
        next_run_at=now,
        consecutive_failures=0,
        created_at=now,
        created_by_label=actor.label,
        updated_at=now,
        updated_by_label=actor.label,
    )
    session.add(monitor)
    await session.flush()
    _audit(session, actor, "created", monitor, {"settings": data.model_dump(mode="json")})
    return monitor


async def update_monitor(
    session: AsyncSession, *, actor: Caller, monitor_id: int, data: MonitorUpdate, bus: EventBus | None = None
) -> Monitor:
    """Change a monitor (admin). Disabling it resolves its alert; changing what it probes re-arms it."""
    _require_admin(actor)
    monitor = await get_monitor(session, org_id=actor.org_id, monitor_id=monitor_id)
    changes = data.changes()
    if changes.get("content_match") == "":
        changes["content_match"] = None
    for required in ("name", "target", "expected_status", "timeout_seconds", "interval_seconds"):
        if required in changes and changes[required] is None:
            raise InvalidRequest(f"{required} cannot be cleared")
    try:
        _check_target(monitor.kind, changes.get("target", monitor.target))
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    for name, value in changes.items():
        setattr(monitor, name, value)
    monitor.updated_at, monitor.updated_by_label = utcnow(), actor.label
    if {"target", "port", "enabled", "interval_seconds"} & changes.keys():
        monitor.next_run_at = utcnow()
    if changes.get("enabled") is False:
        monitor.consecutive_failures = 0
        await auto_resolve(session, key=monitor_key(monitor.id), message="the monitor was disabled", bus=bus)
    await session.flush()
    _audit(session, actor, "updated", monitor, {"changes": data.model_dump(mode="json", exclude_unset=True)})
    return monitor


async def delete_monitor(session: AsyncSession, *, actor: Caller, monitor_id: int, bus: EventBus | None = None) -> None:
    """Delete a monitor (admin); its active alert is resolved, its alert history kept."""
    _require_admin(actor)
    monitor = await get_monitor(session, org_id=actor.org_id, monitor_id=monitor_id)
    await auto_resolve(session, key=monitor_key(monitor.id), message="the monitor was deleted", bus=bus)
    _audit(session, actor, "deleted", monitor, {})
    await session.delete(monitor)
    await session.flush()


async def record_result(
    session: AsyncSession, *, monitor: Monitor, result: CheckResult, bus: EventBus | None = None
) -> Monitor:
    """Store one run's result and raise, update or resolve the monitor's alert."""
    now = utcnow()
    monitor.last_run_at, monitor.last_state = now, result.state
    monitor.last_message, monitor.last_latency_ms = result.message[:4000], result.latency_ms
    monitor.next_run_at = now + timedelta(seconds=monitor.interval_seconds)
    key = monitor_key(monitor.id)
    if result.ok:
        monitor.consecutive_failures = 0
        await auto_resolve(session, key=key, message=result.message, bus=bus)
    else:
        monitor.consecutive_failures += 1
        if monitor.consecutive_failures >= monitor.failure_threshold:
            severity = AlertSeverity.WARNING if result.state is CheckState.WARNING else AlertSeverity.CRITICAL
            await raise_alert(
                session,
                org_id=monitor.org_id,
                key=key,
                source=AlertSource.MONITOR,
                severity=severity,
                message=f"Monitor {monitor.name}: {result.message} "
                f"({monitor.consecutive_failures} consecutive failed runs)",
                monitor_id=monitor.id,
                value=result.latency_ms,
                bus=bus,
            )
    await session.flush()
    return monitor


async def check_now(
    session: AsyncSession, *, org_id: int, monitor_id: int, probes: Probes, bus: EventBus | None = None
) -> Monitor:
    """Run one monitor immediately and record the result (a "Run now" button)."""
    monitor = await get_monitor(session, org_id=org_id, monitor_id=monitor_id)
    result = await run_check(MonitorSpec.of(monitor), probes)
    return await record_result(session, monitor=monitor, result=result, bus=bus)
