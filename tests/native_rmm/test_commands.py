"""Commands through the gate: approval, hand-out at check-in (the fallback), results, cancel, timeouts, uninstall."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from agent.protocol import CommandKind, CommandStatus
from hub.core.db import Database, utcnow
from native_rmm.commands import service as commands
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.plane import DevicePlane
from native_rmm.testing.agentsim import SimAgent, ok_result, sample_inventory
from policies.models import PolicyMode
from policies.outcome import InvocationStatus, Outcome
from policies.service import set_policy
from tests.conftest import Tenancy
from tests.native_rmm.conftest import caller_of

Invoke = Callable[..., Awaitable[Outcome]]


async def _run(invoke: Invoke, approve: Callable[..., Awaitable[Any]], tenancy: Tenancy, args: dict[str, Any]) -> int:
    pending = await invoke(tenancy.operator, "rmm-run-command", args)
    assert pending.status is InvocationStatus.PENDING_APPROVAL and pending.approval_id
    approval = await approve(tenancy.approver, pending.approval_id)
    assert approval.status.value == "executed", approval.error
    return int(approval.result["id"])


async def test_run_command_approved_then_handed_out_at_checkin(
    agent: SimAgent, plane: DevicePlane, invoke: Invoke, approve: Callable[..., Awaitable[Any]], tenancy: Tenancy
) -> None:
    await agent.checkin(inventory=sample_inventory("SIM-01"))
    command_id = await _run(invoke, approve, tenancy, {"device": "sim-01", "command": "uptime"})
    first = await agent.checkin()
    assert [(c.kind, c.shell, c.body) for c in first.commands] == [(CommandKind.SHELL, "bash", "uptime")]
    await plane.writer.flush()
    status = await invoke(tenancy.viewer, "rmm-get-command-result", {"command_id": command_id})
    assert status.result["status"] == "delivered"
    again = await agent.checkin()  # not acknowledged yet: handed out again
    assert [c.id for c in again.commands] == [first.commands[0].id]
    assert (await agent.report_running(first.commands[0].id)).status_code == 204
    assert (await agent.checkin()).commands == []
    assert (await agent.report_result(ok_result(first.commands[0].id, "up 3 days\n"))).status_code == 204
    done = await invoke(tenancy.viewer, "rmm-get-command-result", {"command_id": command_id})
    assert done.status is InvocationStatus.DONE
    assert done.result["status"] == "succeeded" and done.result["stdout"] == "up 3 days\n"
    assert done.result["created_by"] == "olga" and done.result["approval_id"] is not None


async def test_cancel_before_pickup_only(
    agent: SimAgent, invoke: Invoke, approve: Callable[..., Awaitable[Any]], tenancy: Tenancy
) -> None:
    first = await _run(invoke, approve, tenancy, {"device": agent.device_id, "command": "sleep 1"})
    cancelled = await invoke(tenancy.operator, "rmm-cancel-command", {"command_id": first})
    assert cancelled.status is InvocationStatus.DONE and cancelled.result["status"] == "cancelled"
    assert (await agent.checkin()).commands == []
    second = await _run(invoke, approve, tenancy, {"device": agent.device_id, "command": "sleep 2"})
    spec = (await agent.checkin()).commands[0]
    await agent.report_running(spec.id)
    refused = await invoke(tenancy.operator, "rmm-cancel-command", {"command_id": second})
    assert refused.status is InvocationStatus.FAILED and "already picked up" in refused.message


async def test_timeouts(agent: SimAgent, plane: DevicePlane, db: Database, tenancy: Tenancy) -> None:
    async with db.transaction() as session:
        delivered = await commands.enqueue(
            session,
            org_id=tenancy.org_id,
            device_id=agent.device_id or 0,
            kind=CommandKind.SHELL,
            shell="bash",  # type: ignore[arg-type]
            body="sleep 100",
            env=None,
            timeout=5,
            created_by="tests",
        )
    await agent.checkin()
    await plane.writer.flush()
    async with db.transaction() as session:
        never = await commands.enqueue(
            session,
            org_id=tenancy.org_id,
            device_id=agent.device_id or 0,
            kind=CommandKind.SHELL,
            shell="bash",  # type: ignore[arg-type]
            body="true",
            env=None,
            timeout=5,
            created_by="tests",
        )
    later = utcnow() + timedelta(seconds=5 + plane.settings.command_grace_seconds + 1)
    async with db.transaction() as session:
        assert await commands.expire_overdue(session, now=later, queue_ttl=timedelta(hours=1)) == 1
        assert await commands.expire_overdue(session, now=later + timedelta(hours=1), queue_ttl=timedelta(hours=1)) == 1
    async with db.transaction() as session:
        first = await session.get(Command, delivered.id)
        second = await session.get(Command, never.id)
        assert first is not None and first.status is CommandStatus.TIMED_OUT and "timeout" in (first.error or "")
        assert (
            second is not None
            and second.status is CommandStatus.TIMED_OUT
            and "never delivered" in (second.error or "")
        )
    # What really happened wins over the hub's verdict.
    assert (await agent.report_result(ok_result(delivered.uid, "late"))).status_code == 204
    async with db.transaction() as session:
        first = await session.get(Command, delivered.id)
        assert first is not None and first.status is CommandStatus.SUCCEEDED


async def test_uninstall_is_never_by_default_and_deregister_marks_uninstalled(
    agent: SimAgent, invoke: Invoke, hub: Any, db: Database, tenancy: Tenancy
) -> None:
    refused = await invoke(tenancy.admin, "rmm-uninstall-agent", {"device": agent.device_id})
    assert refused.status is InvocationStatus.REFUSED and refused.policy == "never"
    tool = hub.registry.resolve("rmm-uninstall-agent", tenancy.org_id)
    async with db.transaction() as session:
        await set_policy(session, caller=caller_of(tenancy.admin), tool=tool, mode=PolicyMode.AUTO)
    queued = await invoke(tenancy.operator, "rmm-uninstall-agent", {"device": "SIM-01"})
    assert queued.status is InvocationStatus.DONE and queued.result["kind"] == "uninstall_agent"
    spec = (await agent.checkin()).commands[0]
    assert spec.kind is CommandKind.UNINSTALL_AGENT
    await agent.report_result(ok_result(spec.id, "agent uninstall started"))
    assert (await agent.deregister()).status_code == 204
    async with db.transaction() as session:
        device = await session.get(Device, agent.device_id)
        assert device is not None and device.status is DeviceStatus.UNINSTALLED and device.uninstalled_at
    response = await agent.post("/agent/v1/checkin", agent.checkin_body().model_dump_json())
    assert response.status_code == 401
    listed = await invoke(tenancy.viewer, "rmm-list-devices", {})
    assert listed.result["devices"] == []
    again = await invoke(tenancy.operator, "rmm-run-command", {"device": agent.device_id, "command": "true"})
    assert again.status is InvocationStatus.PENDING_APPROVAL  # refused when it runs: no agent any more


async def test_timeline_stays_monotonic_for_a_fast_command(
    agent: SimAgent,
    plane: DevicePlane,
    db: Database,
    invoke: Invoke,
    approve: Callable[..., Awaitable[Any]],
    tenancy: Tenancy,
) -> None:
    """The agent reports the result before the batched "delivered" mark is written (issue 17, item 7)."""
    await agent.checkin(inventory=sample_inventory("SIM-01"))
    command_id = await _run(invoke, approve, tenancy, {"device": "sim-01", "command": "true"})
    async with plane.writer.held():  # no batch is written meanwhile: "delivered" stays queued, unwritten
        handed = await agent.checkin()
        spec_id = handed.commands[0].id
        assert (await agent.report_result(ok_result(spec_id))).status_code == 204  # stamped by the agent before this
        assert plane.writer.pending >= 1
    await plane.writer.flush()
    async with db.transaction() as session:
        c = await session.get(Command, command_id)
        assert c is not None and c.delivered_at and c.acked_at and c.started_at and c.finished_at and c.result_at
        stamps = [c.queued_at, c.delivered_at, c.acked_at, c.started_at, c.finished_at, c.result_at]
    assert stamps == sorted(stamps), stamps


def test_timeline_clock_skew_is_clamped() -> None:
    t0 = utcnow()
    c = Command(
        queued_at=t0,
        delivered_at=t0 + timedelta(seconds=2),
        acked_at=t0 + timedelta(seconds=3),
        started_at=t0 - timedelta(seconds=5),
        finished_at=t0 - timedelta(seconds=4),
        result_at=t0 + timedelta(seconds=3),
    )
    commands.keep_timeline_monotonic(c)
    stamps = [c.queued_at, c.delivered_at, c.acked_at, c.started_at, c.finished_at, c.result_at]
    assert stamps == sorted(stamps), stamps
