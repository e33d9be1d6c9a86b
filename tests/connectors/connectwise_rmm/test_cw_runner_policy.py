"""``cw-rmm-run-task`` naming a ConnectWise script obeys that script tool's policy when stricter (issue 8 item 11)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from cw_tenant import FakeTenant
from cw_world import CWWorld, connect_org

from tests.conftest import Tenancy, TestUser

Clients = Callable[[TestUser], httpx.AsyncClient]
CLEANUP = "aaaa1111-0000-4000-8000-000000000001"
CLEANUP_TOOL = "connectwise_rmm:cw-rmm-script-disk-cleanup"
RUNNER = "connectwise_rmm:cw-rmm-run-task"
EP1 = "f4b2990c-075a-4132-967c-2fa3431e89df"
ARGS = {"template_id": CLEANUP, "endpoint_ids": [EP1], "parameters": {"days": 7}, "wait_seconds": 0}


async def _set(admin: httpx.AsyncClient, tool: str, mode: str) -> None:
    r = await admin.put(f"/api/v1/policies/{tool}", json={"mode": mode})
    assert r.status_code == 200, r.text


async def _run(client: httpx.AsyncClient, args: dict[str, object]) -> httpx.Response:
    return await client.post("/api/v1/tools/cw-rmm-run-task/invoke", json={"args": args})


async def test_never_script_is_refused_through_run_task(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    admin = client_for(tenancy.admin)
    await connect_org(admin, tenant)
    await _set(admin, CLEANUP_TOOL, "never")
    for runner_mode in ("approval", "auto"):
        await _set(admin, RUNNER, runner_mode)
        r = await _run(client_for(tenancy.operator), ARGS)
        assert r.status_code == 403, r.text
        assert "cw-rmm-run-task would run cw-rmm-script-disk-cleanup, which is not allowed" in r.json()["message"]
    assert (await client_for(tenancy.approver).get("/api/v1/approvals")).json() == []
    assert tenant.scheduled == []


async def test_approval_script_asks_through_an_auto_run_task_against_the_script_tool(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    admin = client_for(tenancy.admin)
    await connect_org(admin, tenant)
    await _set(admin, RUNNER, "auto")
    r = await _run(client_for(tenancy.operator), ARGS)
    assert r.status_code == 202, r.text
    assert tenant.scheduled == []
    shown = (await admin.get(f"/api/v1/approvals/{r.json()['approval_id']}")).json()
    assert shown["tool"] == CLEANUP_TOOL and shown["via_tool"] == RUNNER
    assert shown["args"] == {
        "parameters": {"days": 7},
        "targetType": "MANAGED_ENDPOINT",
        "endpoint_ids": [EP1],
        "wait_seconds": 0,
    }
    decided = await client_for(tenancy.approver).post(f"/api/v1/approvals/{shown['id']}/approve", json={})
    assert decided.json()["status"] == "executed", decided.text
    [body] = tenant.scheduled
    assert body["templateID"] == CLEANUP and body["targets"] == [EP1] and body["parameters"] == '{"days":7}'


async def test_a_template_without_a_script_tool_follows_the_runner(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    admin = client_for(tenancy.admin)
    await connect_org(admin, tenant)
    await _set(admin, RUNNER, "auto")
    r = await _run(client_for(tenancy.operator), {**ARGS, "template_id": "not-a-listed-template"})
    assert r.status_code == 200, r.text
    assert [b["templateID"] for b in tenant.scheduled] == ["not-a-listed-template"]
