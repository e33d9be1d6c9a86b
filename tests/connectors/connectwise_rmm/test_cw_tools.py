"""The static tools through the one pipeline: reads run at once, writes wait for another user's approval."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from cw_tenant import FakeTenant
from cw_world import CWWorld, connect_org

from connectors.connectwise_rmm.manager import ConnectionManager
from hub.core.context import HubContext
from tests.conftest import Tenancy, TestUser

Clients = Callable[[TestUser], httpx.AsyncClient]
COMPANY = "c0ffee00-0000-4000-8000-000000000001"
EP1, EP2 = "f4b2990c-075a-4132-967c-2fa3431e89df", "0a1b2c3d-075a-4132-967c-2fa3431e89df"


async def _invoke(client: httpx.AsyncClient, tool: str, args: object) -> httpx.Response:
    return await client.post(f"/api/v1/tools/{tool}/invoke", json={"args": args, "reason": "test"})


async def test_auto_read_tools_run_at_once_and_are_trimmed(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    r = await _invoke(client_for(tenancy.viewer), "cw-rmm-list-companies", {})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["count"] == 1
    assert result["companies"][0] == {"id": COMPANY, "name": "Acme Pty Ltd", "friendly_name": "Acme"}

    shell = (await _invoke(client_for(tenancy.operator), "cw-rmm-list-shell-scripts", {})).json()["result"]
    assert shell["count"] == 3
    assert shell["shell_scripts"][0]["parameters_schema"]["required"] == ["days"]


async def test_upstream_errors_become_clear_tool_errors(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    r = await _invoke(client_for(tenancy.operator), "cw-rmm-get-company", {"company_id": "nope"})
    assert r.status_code == 404
    body = r.json()
    assert body["status"] == "failed"
    assert "ConnectWise RMM returned HTTP 404: resource not found" in body["message"]


async def test_tools_without_a_connection_say_how_to_connect(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    manager = hub.components.get(ConnectionManager)
    manager._orgs.clear()  # as if the client were gone (e.g. a replica that has not loaded it yet)
    r = await _invoke(client_for(tenancy.operator), "cw-rmm-list-companies", {})
    assert r.json()["status"] == "failed"
    assert "Integrations > ConnectWise RMM" in r.json()["message"]


async def test_create_ticket_pauses_and_runs_only_after_another_user_approves(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    args = {
        "summary": "Printer offline",
        "description": "Reception printer is offline since 9am",
        "service_board_id": "board-1",
        "source_id": "source-1",
        "company_id": COMPANY,
        "endpoint_ids": [EP1],
    }
    r = await _invoke(client_for(tenancy.operator), "cw-rmm-create-ticket", args)
    assert r.status_code == 202, r.text
    approval_id = r.json()["approval_id"]
    assert tenant.calls("POST", "/api/platform/v2/service/ticketing") == []

    own = await client_for(tenancy.operator).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert own.status_code == 403
    assert tenant.calls("POST", "/api/platform/v2/service/ticketing") == []

    ok = await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert ok.status_code == 200, ok.text
    decided = ok.json()
    assert decided["status"] == "executed"
    posted = tenant.calls("POST", "/api/platform/v2/service/ticketing/tickets")
    assert len(posted) == 1
    assert posted[0].body == {
        "summary": "Printer offline",
        "description": "Reception printer is offline since 9am",
        "serviceBoard": {"id": "board-1"},
        "source": {"id": "source-1"},
        "company": {"id": COMPANY},
        "assets": [{"id": EP1}],
    }
    assert decided["result"]["number"] == "1000" and decided["result"]["asset_ids"] == [EP1]


async def test_run_task_schedules_the_documented_payload_after_approval(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    args = {
        "template_id": "aaaa1111-0000-4000-8000-000000000001",
        "endpoint_ids": [EP1, EP2],
        "parameters": {"days": 7},
        "name": "Cleanup",
    }
    r = await _invoke(client_for(tenancy.operator), "cw-rmm-run-task", args)
    assert r.status_code == 202
    ok = await client_for(tenancy.approver).post(f"/api/v1/approvals/{r.json()['approval_id']}/approve", json={})
    assert ok.json()["status"] == "executed", ok.text
    [body] = tenant.scheduled
    assert body["templateID"] == "aaaa1111-0000-4000-8000-000000000001"
    assert body["targetType"] == "MANAGED_ENDPOINT" and body["targets"] == [EP1, EP2]
    assert body["parameters"] == '{"days":7}' and json.loads(body["parameters"]) == {"days": 7}
    assert body["schedule"]["regularity"] == "Immediate"
    result = ok.json()["result"]
    assert result["finished"] is True
    assert [e["endpoint_id"] for e in result["endpoints"]] == [EP1, EP2]


async def test_run_task_refuses_two_targeting_modes_before_asking_for_approval(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    both = {"template_id": "t", "endpoint_ids": [EP1], "company_id": COMPANY, "targetType": "COMPANY"}
    r = await _invoke(client_for(tenancy.operator), "cw-rmm-run-task", both)
    assert r.status_code == 422
    neither = {"template_id": "t"}
    r = await _invoke(client_for(tenancy.operator), "cw-rmm-run-task", neither)
    assert r.status_code == 422 and "endpoint_ids" in r.json()["message"]
    assert (await client_for(tenancy.approver).get("/api/v1/approvals")).json() == []


async def test_ticket_note_by_number_waits_for_approval_with_a_readable_sentence_then_posts_once(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    tenant.tickets.append({"id": "7e1a0000-0000-4000-8000-000000000001", "number": "1001", "summary": "Printer"})
    await connect_org(client_for(tenancy.admin), tenant)
    args = {"ticket": "1001", "detail": "Ran Disk Cleanup on WS01: 12 GB freed."}
    r = await _invoke(client_for(tenancy.operator), "cw-rmm-add-ticket-note", args)
    assert r.status_code == 202, r.text
    approval = (await client_for(tenancy.approver).get(f"/api/v1/approvals/{r.json()['approval_id']}")).json()
    assert approval["description"].startswith("Add an internal note to ConnectWise RMM ticket 1001\nNote:\n")
    assert "12 GB freed" in approval["description"]
    assert tenant.notes == {}

    ok = await client_for(tenancy.approver).post(f"/api/v1/approvals/{r.json()['approval_id']}/approve", json={})
    assert ok.json()["status"] == "executed", ok.text
    [note] = tenant.notes["7e1a0000-0000-4000-8000-000000000001"]
    assert note["detail"] == args["detail"] and note["visibility"] == 2
    assert ok.json()["result"]["ticket_id"] == "7e1a0000-0000-4000-8000-000000000001"

    missing = await _invoke(client_for(tenancy.admin), "cw-rmm-add-ticket-note", {"ticket": "9999", "detail": "x"})
    pending = missing.json()
    if pending["status"] == "pending_approval":
        missing = await client_for(tenancy.approver).post(
            f"/api/v1/approvals/{pending['approval_id']}/approve", json={}
        )
    assert "no ticket number 9999" in missing.text


async def test_run_task_and_script_tool_approvals_name_the_script_and_list_endpoints(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    args = {
        "template_id": "aaaa1111-0000-4000-8000-000000000001",
        "endpoint_ids": [EP1, EP2],
        "parameters": {"days": 7},
    }
    r = await _invoke(client_for(tenancy.operator), "cw-rmm-run-task", args)
    approval = (await client_for(tenancy.approver).get(f"/api/v1/approvals/{r.json()['approval_id']}")).json()
    assert approval["description"].splitlines() == [
        "Run ConnectWise RMM script 'Disk Cleanup' on 2 endpoints",
        f"Targets (2): {EP1}, {EP2}",
        "Parameters: days=7",
    ]
    r = await _invoke(
        client_for(tenancy.operator), "cw-rmm-script-disk-cleanup", {"parameters": {"days": 3}, "endpoint_ids": [EP1]}
    )
    approval = (await client_for(tenancy.approver).get(f"/api/v1/approvals/{r.json()['approval_id']}")).json()
    assert approval["description"].splitlines() == [
        f"Run ConnectWise RMM script 'Disk Cleanup' on endpoint {EP1}",
        "Parameters: days=3",
    ]
