"""Device status: the definitions (pure) and the job that stores changes and publishes them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from agent.protocol import CommandKind, Shell
from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from native_rmm.commands import service as commands
from native_rmm.devices import status
from native_rmm.devices.status import StatusInputs, compute_status
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.plane import DevicePlane
from native_rmm.settings import RmmSettings
from native_rmm.testing.agentsim import SimAgent
from tests.conftest import Tenancy
from tests.waiting import eventually

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=utcnow().tzinfo)
SETTINGS = RmmSettings(_env_file=None, offline_after_minutes=5, ws_ping_interval_seconds=30)  # type: ignore[call-arg]


def _inputs(*, seen: float | None = None, ws: float | None = None, uninstalled: bool = False) -> StatusInputs:
    return StatusInputs(
        uninstalled_at=NOW if uninstalled else None,
        last_seen_at=NOW - timedelta(seconds=seen) if seen is not None else None,
        ws_connected=ws is not None,
        ws_seen_at=NOW - timedelta(seconds=ws) if ws is not None else None,
        checkin_interval_seconds=60,
    )


@pytest.mark.parametrize(
    ("inputs", "overdue", "expected"),
    [
        (_inputs(seen=30), False, DeviceStatus.ONLINE),  # checked in within 2 intervals
        (_inputs(seen=119), False, DeviceStatus.ONLINE),
        (_inputs(seen=3600, ws=20), False, DeviceStatus.ONLINE),  # connected, pongs flowing
        (_inputs(seen=30), True, DeviceStatus.UNRESPONSIVE),  # there, but a command is unacknowledged
        (_inputs(seen=150), False, DeviceStatus.UNRESPONSIVE),  # missed check-ins, not yet offline
        (_inputs(seen=3600, ws=120), False, DeviceStatus.UNRESPONSIVE),  # pings unanswered for 4 intervals
        (_inputs(seen=301), False, DeviceStatus.OFFLINE),
        (_inputs(), False, DeviceStatus.OFFLINE),  # never seen
        (_inputs(seen=1, ws=1, uninstalled=True), False, DeviceStatus.UNINSTALLED),
    ],
)
def test_definitions(inputs: StatusInputs, overdue: bool, expected: DeviceStatus) -> None:
    assert compute_status(inputs, overdue_command=overdue, now=NOW, settings=SETTINGS) is expected


async def test_transitions_are_stored_and_published(
    agent: SimAgent, plane: DevicePlane, hub: HubContext, db: Database, tenancy: Tenancy
) -> None:
    async with hub.bus.subscribe("device.status_changed") as events:
        async with db.transaction() as session:
            await session.execute(update(Device).values(last_seen_at=utcnow() - timedelta(minutes=30)))
        async with db.transaction() as session:
            changes = await status.refresh_statuses(session, hub.bus, now=utcnow(), settings=plane.settings)
        assert [(c.old, c.new) for c in changes] == [(DeviceStatus.ONLINE, DeviceStatus.OFFLINE)]
        await agent.checkin()  # back: the flush refreshes its status at once
        await plane.writer.flush()
        async with db.transaction() as session:
            device = await session.get(Device, agent.device_id)
            assert device is not None and device.status is DeviceStatus.ONLINE
        async with db.transaction() as session:
            command = await commands.enqueue(
                session,
                org_id=tenancy.org_id,
                device_id=agent.device_id or 0,
                kind=CommandKind.SHELL,
                shell=Shell.BASH,
                body="true",
                env=None,
                timeout=30,
                created_by="tests",
            )
            await session.flush()
            await session.execute(
                update(Command)
                .where(Command.id == command.id)
                .values(status="delivered", delivered_at=utcnow() - timedelta(minutes=5))
            )
        async with db.transaction() as session:
            changes = await status.refresh_statuses(session, hub.bus, now=utcnow(), settings=plane.settings)
        assert [c.new for c in changes] == [DeviceStatus.UNRESPONSIVE]
        seen = [await anext(events) for _ in range(2)]
    assert [e.data["new"] for e in seen] == ["offline", "online"]


async def test_hub_ends_quick_support_sessions_whose_agent_vanished(
    agent: SimAgent, plane: DevicePlane, db: Database
) -> None:
    from native_rmm.devices.jobs import QUICK_SUPPORT_GRACE, end_expired_quick_support

    async with db.transaction() as session:
        await session.execute(
            update(Device)
            .where(Device.id == agent.device_id)
            .values(quick_support=True, session_expires_at=utcnow() - QUICK_SUPPORT_GRACE / 2)
        )
    assert await end_expired_quick_support(plane) == 0, "still within the grace period"
    async with db.transaction() as session:
        await session.execute(
            update(Device)
            .where(Device.id == agent.device_id)
            .values(session_expires_at=utcnow() - QUICK_SUPPORT_GRACE - timedelta(minutes=1))
        )
    assert await end_expired_quick_support(plane) == 1
    async with db.transaction() as session:
        device = await session.get(Device, agent.device_id)
        assert device is not None and device.status is DeviceStatus.UNINSTALLED
        assert device.uninstall_reason == "quick-support expired"
    assert await end_expired_quick_support(plane) == 0, "ended once"

    # The check-in cache hears the status change over the bus; the revoked credential is refused soon after.
    async def refused() -> bool:
        response = await agent.post("/agent/v1/checkin", agent.checkin_body().model_dump_json())
        return response.status_code == 401

    await eventually(refused, within=5, message="its revoked credential refused")
