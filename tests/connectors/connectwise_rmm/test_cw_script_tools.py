"""Dynamic per-script tools: their input schema, the schedule-task payload, polling, targeting, approval."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from cw_tenant import FakeTenant
from cw_world import CWWorld, connect_org

from hub.core.context import HubContext
from tests.conftest import Tenancy, TestUser

Clients = Callable[[TestUser], httpx.AsyncClient]
CLEANUP = "aaaa1111-0000-4000-8000-000000000001"
COMPANY = "c0ffee00-0000-4000-8000-000000000001"
EP1, EP2 = "f4b2990c-075a-4132-967c-2fa3431e89df", "0a1b2c3d-075a-4132-967c-2fa3431e89df"
EXPECTED_SCHEDULE = {
    "regularity": "Immediate",
    "category": "STZ",
    "scheduleType": "TIME",
    "repeat": None,
    "startDate": None,
    "endDate": None,
    "endDateType": None,
    "timeZone": None,
    "triggerType": None,
    "timeFrameType": None,
    "startTimeFrame": None,
    "endTimeFrame": None,
}


async def _request_and_approve(
    client_for: Clients, tenancy: Tenancy, tool: str, args: dict[str, object]
) -> dict[str, object]:
    pending = await client_for(tenancy.operator).post(f"/api/v1/tools/{tool}/invoke", json={"args": args})
    assert pending.status_code == 202, pending.text
    decided = await client_for(tenancy.approver).post(
        f"/api/v1/approvals/{pending.json()['approval_id']}/approve", json={"note": "ok"}
    )
    assert decided.status_code == 200, decided.text
    body: dict[str, object] = decided.json()
    return body


async def test_script_tool_schema_is_the_published_parameters_plus_a_target(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    tool = hub.registry.resolve("cw-rmm-script-disk-cleanup", tenancy.org_id)
    schema = tool.input_schema
    assert schema["properties"]["parameters"] == {
        "type": "object",
        "properties": {"days": {"type": "integer", "minimum": 1}, "drive": {"type": "string"}},
        "required": ["days"],
        "additionalProperties": False,
    }
    assert schema["required"] == ["parameters"]
    assert set(schema["properties"]) == {"parameters", "targetType", "endpoint_ids", "company_id", "wait_seconds"}
    spooler = hub.registry.resolve("cw-rmm-script-restart-print-spooler", tenancy.org_id).input_schema
    assert spooler["properties"]["parameters"]["additionalProperties"] is True and spooler["required"] == []
    assert tool.org_id == tenancy.org_id and tool.category == "scripts"


async def test_endpoint_run_sends_the_documented_schedule_task_and_reports_per_endpoint(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    tenant.polls_until_done = 3
    tenant.results = {EP1: {"output": "freed 2.1 GB"}, EP2: {"output": "x" * 10000}}
    args = {"endpoint_ids": [EP1, EP2], "parameters": {"days": 14, "drive": "C:"}}
    decided = await _request_and_approve(client_for, tenancy, "cw-rmm-script-disk-cleanup", args)
    assert decided["status"] == "executed"

    [body] = tenant.scheduled
    description = body.pop("description")
    assert description.startswith("requested by olga via rmmhub (approval #")
    assert body == {
        "templateID": CLEANUP,
        "templateType": "script",
        "name": "Disk Cleanup (rmmhub)",
        "resourcesType": "Both",
        "targetType": "MANAGED_ENDPOINT",
        "targets": [EP1, EP2],
        "parameters": '{"days":14,"drive":"C:"}',
        "schedule": EXPECTED_SCHEDULE,
    }
    assert isinstance(body["parameters"], str) and json.loads(body["parameters"]) == args["parameters"]

    result = decided["result"]
    assert isinstance(result, dict)
    assert result["state"] == "finished" and result["finished"] is True and result["timed_out"] is False
    assert result["target"] == {"endpoint_ids": [EP1, EP2]}
    rows = {row["endpoint_id"]: row for row in result["endpoints"]}
    assert rows[EP1]["status"] == "Success" and rows[EP1]["output"] == "freed 2.1 GB"
    assert len(rows[EP2]["output"]) < 4100 and rows[EP2]["output"].endswith("more characters]")
    polls = tenant.calls("GET", "/api/platform/v1/automation/tasks/")
    assert len(polls) == 3  # polled until the run reached a terminal state


async def test_company_run_targets_the_company(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    args = {"targetType": "COMPANY", "company_id": COMPANY, "wait_seconds": 0}
    decided = await _request_and_approve(client_for, tenancy, "cw-rmm-script-restart-print-spooler", args)
    [body] = tenant.scheduled
    assert body["targetType"] == "COMPANY" and body["targets"] == [COMPANY] and body["parameters"] == "{}"
    result = decided["result"]
    assert isinstance(result, dict) and result["target"] == {"company_id": COMPANY}
    assert result["state"].startswith("scheduled")
    assert tenant.calls("GET", "/api/platform/v1/automation/tasks/") == []  # wait_seconds 0: no polling


async def test_bad_targets_and_parameters_are_refused_before_any_approval(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    olga = client_for(tenancy.operator)
    cases = [
        {"parameters": {"days": 1}},  # no target
        {"parameters": {"days": 1}, "endpoint_ids": [EP1], "company_id": COMPANY},  # both
        {"parameters": {"days": 1}, "targetType": "COMPANY", "endpoint_ids": [EP1]},  # company mode without company
        {"parameters": {"days": "soon"}, "endpoint_ids": [EP1]},  # wrong parameter type
        {"parameters": {"days": 1, "rm": "-rf"}, "endpoint_ids": [EP1]},  # unknown parameter
        {"endpoint_ids": [EP1]},  # the template requires parameters
    ]
    for args in cases:
        r = await olga.post("/api/v1/tools/cw-rmm-script-disk-cleanup/invoke", json={"args": args})
        assert r.status_code == 422, (args, r.text)
    assert (await client_for(tenancy.approver).get("/api/v1/approvals")).json() == []
    assert tenant.scheduled == []


async def test_a_script_runs_only_after_approval(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    olga = client_for(tenancy.operator)
    r = await olga.post(
        "/api/v1/tools/cw-rmm-script-restart-print-spooler/invoke", json={"args": {"endpoint_ids": [EP1]}}
    )
    assert r.status_code == 202
    assert tenant.scheduled == []
    denied = await client_for(tenancy.approver).post(f"/api/v1/approvals/{r.json()['approval_id']}/deny", json={})
    assert denied.json()["status"] == "denied"
    assert tenant.scheduled == []

    await client_for(tenancy.admin).put(
        "/api/v1/policies/connectwise_rmm:cw-rmm-script-restart-print-spooler", json={"mode": "auto"}
    )
    ran = await olga.post(
        "/api/v1/tools/cw-rmm-script-restart-print-spooler/invoke", json={"args": {"endpoint_ids": [EP1]}}
    )
    assert ran.status_code == 200 and len(tenant.scheduled) == 1
