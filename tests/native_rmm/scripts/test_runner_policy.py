"""Policy follows what runs, not the door it comes through (issue 8 item 11): ``rmm-run-script`` naming a
script applies that script tool's policy whenever it is stricter than the runner's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from agent.protocol import OsFamily
from hub.core.db import Database
from native_rmm.models.commands import Command
from policies.models import Approval
from tests.conftest import Tenancy, TestUser

Clients = Callable[[TestUser], httpx.AsyncClient]
WIPE = {
    "name": "Wipe user profile",
    "os_type": "LINUX",
    "shell": "bash",
    "body": 'echo "would wipe $RMM_PARAM_USER"\n',
    "description": "Removes a user's profile.",
    "parameters": {"properties": {"user": {"type": "string", "minLength": 1}}, "required": ["user"]},
}
WIPE_TOOL = "native_rmm:rmm-script-wipe-user-profile"
RUNNER = "native_rmm:rmm-run-script"


async def _set(admin: httpx.AsyncClient, tool: str, mode: str) -> None:
    r = await admin.put(f"/api/v1/policies/{tool}", json={"mode": mode, "note": "test"})
    assert r.status_code == 200, r.text


async def _run(client: httpx.AsyncClient, device: int, **extra: Any) -> httpx.Response:
    args = {"script": "wipe-user-profile", "device_ids": [device], "params": {"user": "kim"}, **extra}
    return await client.post("/api/v1/tools/rmm-run-script/invoke", json={"args": args, "reason": "test"})


async def _counts(db: Database) -> tuple[int, int]:
    async with db.sessionmaker() as s:
        approvals = (await s.execute(select(func.count()).select_from(Approval))).scalar_one()
        commands = (await s.execute(select(func.count()).select_from(Command))).scalar_one()
    return approvals, commands


async def test_never_script_is_refused_through_the_runner(
    tenancy: Tenancy, client_for: Clients, device_factory: Any, db: Database
) -> None:
    """The reproduction: wipe script set to never, the runner answered pending_approval."""
    admin = client_for(tenancy.admin)
    device = await device_factory(tenancy.org_id, os_family=OsFamily.LINUX)
    assert (await admin.post("/api/v1/rmm/scripts", json=WIPE)).status_code == 201
    await _set(admin, WIPE_TOOL, "never")
    for runner_mode in ("approval", "auto"):
        await _set(admin, RUNNER, runner_mode)
        r = await _run(client_for(tenancy.operator), device)
        assert r.status_code == 403, r.text
        body = r.json()
        assert body["status"] == "refused" and body["policy"] == "never"
        assert (
            "rmm-run-script would run rmm-script-wipe-user-profile, which is not allowed by policy" in body["message"]
        )
    assert await _counts(db) == (0, 0)
    audit = (await admin.get("/api/v1/audit", params={"event": "tool.requested"})).json()
    assert audit[0]["detail"]["policy_of"] == WIPE_TOOL and audit[0]["outcome"] == "never"


async def test_approval_script_asks_through_an_auto_runner_and_is_recorded_against_the_script(
    tenancy: Tenancy, client_for: Clients, device_factory: Any, db: Database, anon: httpx.AsyncClient
) -> None:
    admin, operator = client_for(tenancy.admin), client_for(tenancy.operator)
    device = await device_factory(tenancy.org_id, os_family=OsFamily.LINUX)
    script = (await admin.post("/api/v1/rmm/scripts", json=WIPE)).json()
    await _set(admin, RUNNER, "auto")
    await _set(admin, WIPE_TOOL, "approval")

    r = await _run(operator, device)
    assert r.status_code == 202, r.text
    assert r.json()["tool"] == WIPE_TOOL and "asked through rmm-run-script" in r.json()["message"]
    assert await _counts(db) == (1, 0)
    shown = (await admin.get(f"/api/v1/approvals/{r.json()['approval_id']}")).json()
    assert shown["tool"] == WIPE_TOOL and shown["via_tool"] == RUNNER
    assert shown["args"] == {"user": "kim", "device_ids": [device]}
    login = await anon.post("/api/v1/auth/login", json={"username": "bob", "password": tenancy.approver.password})
    assert login.status_code == 200
    queue = await anon.get("/policies/approvals")
    row = f'data-approval-id="{shown["id"]}" data-tool="{WIPE_TOOL}"'
    assert row in queue.text and "asked through rmm-run-script" in queue.text

    decided = await client_for(tenancy.approver).post(f"/api/v1/approvals/{shown['id']}/approve", json={})
    assert decided.json()["status"] == "executed", decided.text
    async with db.sessionmaker() as s:
        command = (await s.execute(select(Command))).scalar_one()
    assert command.script_id == script["id"] and command.approval_id == shown["id"]
    assert command.env["RMM_PARAM_USER"] == "kim"


async def test_setting_the_runner_to_never_fails_approvals_asked_through_it(
    tenancy: Tenancy, client_for: Clients, device_factory: Any, db: Database
) -> None:
    admin = client_for(tenancy.admin)
    device = await device_factory(tenancy.org_id, os_family=OsFamily.LINUX)
    await admin.post("/api/v1/rmm/scripts", json=WIPE)
    await _set(admin, WIPE_TOOL, "approval")
    approval_id = (await _run(client_for(tenancy.operator), device)).json()["approval_id"]
    await _set(admin, RUNNER, "never")
    failed = (await admin.get(f"/api/v1/approvals/{approval_id}")).json()
    assert failed["status"] == "failed" and "rmm-run-script was set to never" in failed["error"]
    assert await _counts(db) == (1, 0)


async def test_runner_approval_rechecks_the_script_policy_when_it_runs(
    tenancy: Tenancy, client_for: Clients, device_factory: Any, db: Database
) -> None:
    """Runner asks (script auto): the approval is the runner's; set the script to never, then approve -> nothing."""
    admin = client_for(tenancy.admin)
    device = await device_factory(tenancy.org_id, os_family=OsFamily.LINUX)
    await admin.post("/api/v1/rmm/scripts", json=WIPE)
    await _set(admin, RUNNER, "approval")
    await _set(admin, WIPE_TOOL, "auto")
    pending = (await _run(client_for(tenancy.operator), device)).json()
    assert pending["tool"] == RUNNER
    await _set(admin, WIPE_TOOL, "never")
    decided = await client_for(tenancy.approver).post(f"/api/v1/approvals/{pending['approval_id']}/approve", json={})
    assert decided.json()["status"] == "failed"
    assert "rmm-script-wipe-user-profile is now not allowed by policy" in decided.json()["error"]
    assert await _counts(db) == (1, 0)


async def test_auto_everywhere_runs_at_once_and_bad_params_name_the_script_tool(
    tenancy: Tenancy, client_for: Clients, device_factory: Any, db: Database
) -> None:
    admin, operator = client_for(tenancy.admin), client_for(tenancy.operator)
    device = await device_factory(tenancy.org_id, os_family=OsFamily.LINUX)
    await admin.post("/api/v1/rmm/scripts", json=WIPE)
    await _set(admin, RUNNER, "auto")
    await _set(admin, WIPE_TOOL, "auto")
    done = await _run(operator, device)
    assert done.status_code == 200 and done.json()["status"] == "done", done.text
    await _set(admin, WIPE_TOOL, "approval")
    audited = len((await admin.get("/api/v1/audit", params={"limit": 1000})).json())
    bad = await _run(operator, device, params={"user": ""})
    assert bad.status_code == 422 and WIPE_TOOL in bad.json()["message"]
    assert await _counts(db) == (0, 1)
    assert len((await admin.get("/api/v1/audit", params={"limit": 1000})).json()) == audited, "nothing recorded"
