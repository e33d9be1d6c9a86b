"""End to end: agent check-ins through the batched ingest raise and auto-resolve metric alerts."""

from __future__ import annotations

import asyncio

from hub.core.context import HubContext
from hub.core.events import Event
from native_rmm.alerts import service
from native_rmm.models.alerts import AlertSeverity, AlertStatus, MetricName
from native_rmm.plane import DevicePlane
from native_rmm.testing.agentsim import SimAgent, sample_metrics
from tests.conftest import Tenancy


async def test_checkins_raise_and_resolve_alerts(
    tenancy: Tenancy, hub: HubContext, agent: SimAgent, plane: DevicePlane
) -> None:
    async with hub.bus.subscribe("alert.") as events:
        await agent.checkin(metrics=sample_metrics(cpu=97.0, disk=87.0))
        await plane.writer.flush()
        raised = [await asyncio.wait_for(events.__anext__(), 5) for _ in range(2)]
        async with hub.db.sessionmaker() as session:
            active = await service.list_alerts(
                session, org_id=tenancy.org_id, device_id=agent.device_id, active_only=True
            )
        by_metric = {a.metric: a.severity for a in active}
        assert by_metric == {MetricName.CPU: AlertSeverity.CRITICAL, MetricName.DISK: AlertSeverity.WARNING}
        assert {e.topic for e in raised} == {"alert.raised"}

        await agent.checkin(metrics=sample_metrics(cpu=5.0, disk=40.0))
        await plane.writer.flush()
        resolved: list[Event] = [await asyncio.wait_for(events.__anext__(), 5) for _ in range(2)]
    assert {e.topic for e in resolved} == {"alert.resolved"}
    async with hub.db.sessionmaker() as session:
        every = await service.list_alerts(session, org_id=tenancy.org_id, device_id=agent.device_id)
    assert [a.status for a in every] == [AlertStatus.RESOLVED, AlertStatus.RESOLVED] and all(
        a.auto_resolved for a in every
    )
