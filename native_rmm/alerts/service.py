"""Alert rules: metric samples against thresholds, the alert lifecycle, acknowledge and resolve.

Lifecycle of a metric alert for one (device, metric): a sample at or above the warn threshold
raises a ``warning`` alert, at or above danger a ``critical`` one. Later samples update the same
alert (``last_seen_at``, ``value``, message): a rise to critical escalates it (and re-opens it if
it was acknowledged, so the worse state gets attention), a fall back between warn and danger
de-escalates it to warning, and a sample below the warn threshold resolves it automatically.
Monitor alerts follow the same path through :func:`raise_alert` / :func:`auto_resolve`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import MetricsSample
from hub.core.caller import Caller
from hub.core.db import get_in_org, utcnow
from hub.core.errors import Conflict, NotFound
from hub.core.events import EventBus
from native_rmm.alerts.customer_thresholds import thresholds_for_device
from native_rmm.alerts.events import announce
from native_rmm.models.alerts import (
    ACTIVE_STATUSES,
    Alert,
    AlertSeverity,
    AlertSource,
    AlertStatus,
    MetricName,
    metric_key,
)

_LABELS = {MetricName.CPU: "CPU", MetricName.MEMORY: "Memory", MetricName.DISK: "Disk"}


async def raise_alert(
    session: AsyncSession,
    *,
    org_id: int,
    key: str,
    source: AlertSource,
    severity: AlertSeverity,
    message: str,
    value: float | None = None,
    device_id: int | None = None,
    metric: MetricName | None = None,
    monitor_id: int | None = None,
    current: Alert | None = None,
    bus: EventBus | None = None,
) -> Alert:
    """Raise the active alert for ``key``, or update it (escalate/de-escalate) when it exists.

    ``current`` is the active alert of ``key`` when the caller already loaded it.
    """
    now = utcnow()
    alert = current if current is not None else await _active(session, key)
    if alert is None:
        alert = Alert(
            org_id=org_id,
            device_id=device_id,
            source=source,
            metric=metric,
            monitor_id=monitor_id,
            severity=severity,
            status=AlertStatus.OPEN,
            active_key=key,
            message=message,
            value=value,
            first_seen_at=now,
            last_seen_at=now,
        )
        session.add(alert)
        await session.flush()
        announce(session, bus, "raised", alert, escalated=False)
        return alert
    previous = alert.severity
    alert.last_seen_at, alert.value, alert.message, alert.severity = now, value, message, severity
    if previous is AlertSeverity.WARNING and severity is AlertSeverity.CRITICAL:
        if alert.status is AlertStatus.ACKNOWLEDGED:
            alert.status = AlertStatus.OPEN
        await session.flush()
        announce(session, bus, "raised", alert, escalated=True)
    elif previous is not severity:
        await session.flush()
        announce(session, bus, "changed", alert, deescalated=True)
    return alert


async def auto_resolve(
    session: AsyncSession, *, key: str, message: str, current: Alert | None = None, bus: EventBus | None = None
) -> Alert | None:
    """Resolve the active alert of ``key`` because the condition cleared; None when there is none."""
    alert = current if current is not None else await _active(session, key)
    if alert is None:
        return None
    now = utcnow()
    alert.status, alert.active_key, alert.auto_resolved = AlertStatus.RESOLVED, None, True
    alert.resolved_at, alert.resolved_by_label, alert.last_seen_at = now, "system (recovered)", now
    alert.message = f"{alert.message} — recovered: {message}"[:4000]
    await session.flush()
    announce(session, bus, "resolved", alert, auto=True)
    return alert


async def _active(session: AsyncSession, key: str) -> Alert | None:
    return (await session.execute(select(Alert).where(Alert.active_key == key))).scalar_one_or_none()


def _metric_values(sample: MetricsSample) -> dict[MetricName, tuple[float, str]]:
    values = {
        MetricName.CPU: (sample.cpu_percent, _LABELS[MetricName.CPU]),
        MetricName.MEMORY: (sample.memory_percent, _LABELS[MetricName.MEMORY]),
    }
    if sample.disks:
        worst = max(sample.disks, key=lambda d: d.used_percent)
        values[MetricName.DISK] = (worst.used_percent, f"Disk {worst.mountpoint}")
    return values


async def evaluate_sample(
    session: AsyncSession, *, org_id: int, device_id: int, sample: MetricsSample, bus: EventBus | None = None
) -> None:
    """Raise, escalate, de-escalate or auto-resolve the device's metric alerts for one accepted sample.

    Disk is judged by the fullest mounted volume; a sample without disks leaves disk alerts as they are.
    Judged by the device's customer's thresholds when it has its own, else the organisation's (each
    cached per session), plus one indexed alert query.
    """
    thresholds = await thresholds_for_device(session, org_id=org_id, device_id=device_id)
    values = _metric_values(sample)
    keys = {metric_key(device_id, metric): metric for metric in values}
    active = {
        alert.active_key: alert
        for alert in (await session.execute(select(Alert).where(Alert.active_key.in_(list(keys))))).scalars()
    }
    for key, metric in keys.items():
        value, label = values[metric]
        warn, danger = thresholds.pair(metric)
        if value >= danger:
            severity, limit, word = AlertSeverity.CRITICAL, danger, "danger"
        elif value >= warn:
            severity, limit, word = AlertSeverity.WARNING, warn, "warn"
        else:
            if key in active:
                await auto_resolve(
                    session,
                    key=key,
                    current=active[key],
                    bus=bus,
                    message=f"{label} at {value:.1f}% (below the warn threshold of {warn:g}%)",
                )
            continue
        await raise_alert(
            session,
            org_id=org_id,
            key=key,
            source=AlertSource.METRIC,
            severity=severity,
            value=value,
            message=f"{label} at {value:.1f}% (at or above the {word} threshold of {limit:g}%)",
            device_id=device_id,
            metric=metric,
            current=active.get(key),
            bus=bus,
        )


async def list_alerts(
    session: AsyncSession,
    *,
    org_id: int,
    device_id: int | None = None,
    status: AlertStatus | None = None,
    active_only: bool = False,
    severity: AlertSeverity | None = None,
    source: AlertSource | None = None,
    monitor_id: int | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[Alert]:
    """Alerts of an organisation, newest first, filtered; ``active_only`` means open or acknowledged."""
    stmt = select(Alert).where(Alert.org_id == org_id)
    if device_id is not None:
        stmt = stmt.where(Alert.device_id == device_id)
    if status is not None:
        stmt = stmt.where(Alert.status == status)
    elif active_only:
        stmt = stmt.where(Alert.status.in_(ACTIVE_STATUSES))
    if severity is not None:
        stmt = stmt.where(Alert.severity == severity)
    if source is not None:
        stmt = stmt.where(Alert.source == source)
    if monitor_id is not None:
        stmt = stmt.where(Alert.monitor_id == monitor_id)
    if before_id is not None:
        stmt = stmt.where(Alert.id < before_id)
    return (await session.execute(stmt.order_by(Alert.id.desc()).limit(limit))).scalars().all()


async def get_alert(session: AsyncSession, *, org_id: int, alert_id: int) -> Alert:
    """One alert of the organisation, or :class:`NotFound`."""
    alert = await get_in_org(session, Alert, alert_id, org_id)
    if alert is None:
        raise NotFound(f"alert #{alert_id} does not exist")
    return alert


async def acknowledge_alert(
    session: AsyncSession, *, org_id: int, alert_id: int, actor: Caller, bus: EventBus | None = None
) -> Alert:
    """Mark an open alert acknowledged (idempotent: acknowledging it again changes nothing).

    Raises:
        NotFound: no such alert in the organisation.
        Conflict: the alert is already resolved.
    """
    alert = await get_alert(session, org_id=org_id, alert_id=alert_id)
    if alert.status is AlertStatus.RESOLVED:
        raise Conflict(f"alert #{alert_id} is already resolved; there is nothing to acknowledge")
    if alert.status is AlertStatus.OPEN:
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_user_id, alert.acknowledged_by_label = actor.user_id, actor.label
        await session.flush()
        announce(session, bus, "acknowledged", alert, by=actor.label)
    return alert


async def resolve_alert(
    session: AsyncSession, *, org_id: int, alert_id: int, actor: Caller, bus: EventBus | None = None
) -> Alert:
    """Resolve an alert by hand (idempotent). If the condition persists, the next sample raises a new one."""
    alert = await get_alert(session, org_id=org_id, alert_id=alert_id)
    if alert.status is not AlertStatus.RESOLVED:
        alert.status, alert.active_key, alert.auto_resolved = AlertStatus.RESOLVED, None, False
        alert.resolved_at = utcnow()
        alert.resolved_by_user_id, alert.resolved_by_label = actor.user_id, actor.label
        await session.flush()
        announce(session, bus, "resolved", alert, auto=False, by=actor.label)
    return alert


async def active_counts(session: AsyncSession, *, org_id: int) -> dict[AlertSeverity, int]:
    """Number of active alerts per severity (for badges on pages)."""
    rows = (
        await session.execute(select(Alert.severity).where(Alert.org_id == org_id, Alert.status.in_(ACTIVE_STATUSES)))
    ).scalars()
    counts = dict.fromkeys(AlertSeverity, 0)
    for severity in rows:
        counts[severity] += 1
    return counts
