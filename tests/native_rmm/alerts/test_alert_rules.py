"""Metric thresholds raise, escalate, de-escalate and auto-resolve alerts; events follow commits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from agent.protocol import DiskUsage, MetricsSample
from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.events import Event
from hub.core.roles import Role
from native_rmm.alerts import service
from native_rmm.alerts.schemas import Thresholds
from native_rmm.alerts.thresholds import get_thresholds, set_thresholds
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus, MetricName
from tests.conftest import Tenancy


def sample(cpu: float = 10, memory: float = 20, disks: dict[str, float] | None = None) -> MetricsSample:
    return MetricsSample(
        taken_at=datetime.now(UTC),
        cpu_percent=cpu,
        memory_percent=memory,
        memory_used_bytes=1,
        memory_total_bytes=2,
        disks=[DiskUsage(mountpoint=m, used_percent=p, used_bytes=1, total_bytes=2) for m, p in (disks or {}).items()],
        uptime_seconds=100,
    )


async def evaluate(db: Database, org_id: int, device_id: int, s: MetricsSample) -> None:
    async with db.transaction() as session:
        await service.evaluate_sample(session, org_id=org_id, device_id=device_id, sample=s)


async def alerts_of(db: Database, device_id: int) -> list[Alert]:
    async with db.sessionmaker() as session:
        return list(
            (await session.execute(select(Alert).where(Alert.device_id == device_id).order_by(Alert.id))).scalars()
        )


async def test_warning_escalates_deescalates_and_auto_resolves(db: Database, tenancy: Tenancy, device_factory) -> None:
    org = tenancy.org_id
    device = await device_factory(org)
    await evaluate(db, org, device, sample(cpu=79.9))
    assert await alerts_of(db, device) == []

    await evaluate(db, org, device, sample(cpu=80))  # at the warn threshold counts
    [alert] = await alerts_of(db, device)
    assert (alert.source, alert.metric, alert.severity, alert.status) == (
        AlertSource.METRIC,
        MetricName.CPU,
        AlertSeverity.WARNING,
        AlertStatus.OPEN,
    )
    assert alert.value == 80 and "warn threshold of 80%" in alert.message

    await evaluate(db, org, device, sample(cpu=95))
    [escalated] = await alerts_of(db, device)
    assert escalated.id == alert.id and escalated.severity is AlertSeverity.CRITICAL
    assert "danger threshold of 90%" in escalated.message and escalated.last_seen_at > alert.last_seen_at

    await evaluate(db, org, device, sample(cpu=85))
    [lowered] = await alerts_of(db, device)
    assert lowered.id == alert.id and lowered.severity is AlertSeverity.WARNING

    await evaluate(db, org, device, sample(cpu=40))
    [resolved] = await alerts_of(db, device)
    assert resolved.status is AlertStatus.RESOLVED and resolved.auto_resolved and resolved.active_key is None
    assert resolved.resolved_at is not None and "recovered" in resolved.message

    await evaluate(db, org, device, sample(cpu=91))  # a new episode is a new alert
    alerts = await alerts_of(db, device)
    assert len(alerts) == 2 and alerts[1].severity is AlertSeverity.CRITICAL and alerts[1].status is AlertStatus.OPEN


async def test_memory_and_worst_disk_are_separate_alerts(db: Database, tenancy: Tenancy, device_factory) -> None:
    org = tenancy.org_id
    device = await device_factory(org)
    await evaluate(db, org, device, sample(memory=96, disks={"/": 40, "/data": 88}))
    by_metric = {a.metric: a for a in await alerts_of(db, device)}
    assert by_metric.keys() == {MetricName.MEMORY, MetricName.DISK}
    assert by_metric[MetricName.MEMORY].severity is AlertSeverity.CRITICAL
    assert (
        by_metric[MetricName.DISK].severity is AlertSeverity.WARNING and "/data" in by_metric[MetricName.DISK].message
    )
    await evaluate(db, org, device, sample(memory=10))  # no disks reported: the disk alert stays as it is
    states = {a.metric: a.status for a in await alerts_of(db, device)}
    assert states == {MetricName.MEMORY: AlertStatus.RESOLVED, MetricName.DISK: AlertStatus.OPEN}


async def test_escalation_reopens_an_acknowledged_alert(db: Database, tenancy: Tenancy, device_factory) -> None:
    org = tenancy.org_id
    device = await device_factory(org)
    actor = Caller(tenancy.operator.id, "olga", Role.OPERATOR, org, CallerKind.API)
    await evaluate(db, org, device, sample(cpu=82))
    [alert] = await alerts_of(db, device)
    async with db.transaction() as session:
        acked = await service.acknowledge_alert(session, org_id=org, alert_id=alert.id, actor=actor)
        assert acked.status is AlertStatus.ACKNOWLEDGED and acked.acknowledged_by_label == "olga"
    await evaluate(db, org, device, sample(cpu=83))  # same severity: stays acknowledged
    assert (await alerts_of(db, device))[0].status is AlertStatus.ACKNOWLEDGED
    await evaluate(db, org, device, sample(cpu=99))
    [reopened] = await alerts_of(db, device)
    assert reopened.status is AlertStatus.OPEN and reopened.severity is AlertSeverity.CRITICAL


async def test_org_thresholds_apply_and_are_per_org(db: Database, tenancy: Tenancy, device_factory) -> None:
    from hub.core.tenancy import create_organization

    org = tenancy.org_id
    async with db.transaction() as session:
        other = (await create_organization(session, name="Other MSP")).id
        admin = Caller(tenancy.admin.id, "alice", Role.ADMIN, org, CallerKind.API)
        await set_thresholds(session, actor=admin, values=Thresholds(cpu_warn=50, cpu_danger=60))
    device = await device_factory(org)
    other_device = await device_factory(other, hostname="other-01")
    await evaluate(db, org, device, sample(cpu=55))
    await evaluate(db, other, other_device, sample(cpu=55))
    assert [a.severity for a in await alerts_of(db, device)] == [AlertSeverity.WARNING]
    assert await alerts_of(db, other_device) == []
    async with db.sessionmaker() as session:
        assert (await get_thresholds(session, other)).is_default
        mine = await get_thresholds(session, org)
        assert not mine.is_default and mine.pair(MetricName.CPU) == (50, 60) and mine.updated_by == "alice"


async def test_events_are_published_after_commit(tenancy: Tenancy, hub: HubContext, device_factory) -> None:
    org = tenancy.org_id
    device = await device_factory(org)
    async with hub.bus.subscribe("alert.") as events:
        async with hub.db.transaction() as session:
            await service.evaluate_sample(session, org_id=org, device_id=device, sample=sample(cpu=99))
        raised: Event = await asyncio.wait_for(events.__anext__(), 5)
        async with hub.db.transaction() as session:
            await service.evaluate_sample(session, org_id=org, device_id=device, sample=sample(cpu=1))
        resolved: Event = await asyncio.wait_for(events.__anext__(), 5)
    assert raised.topic == "alert.raised" and raised.org_id == org
    assert raised.data["severity"] == "critical" and raised.data["device_id"] == device
    assert resolved.topic == "alert.resolved" and resolved.data["auto"] is True


async def test_rolled_back_alerts_announce_nothing(tenancy: Tenancy, hub: HubContext, device_factory) -> None:
    device = await device_factory(tenancy.org_id)
    async with hub.bus.subscribe("alert.") as events:
        try:
            async with hub.db.transaction() as session:
                await service.evaluate_sample(session, org_id=tenancy.org_id, device_id=device, sample=sample(cpu=99))
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        try:
            await asyncio.wait_for(events.__anext__(), 0.2)
            raise AssertionError("an event escaped a rolled-back transaction")
        except TimeoutError:
            pass
