"""The device Commands tab (served HTML) and the approval card's output of what was approved."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from native_rmm.testing.agentsim import ok_result
from tests.conftest import Tenancy, TestUser
from tests.ui.rmm.conftest import Fleet

UiAs = Callable[[TestUser], Awaitable[httpx.AsyncClient]]
Clients = Callable[[TestUser], httpx.AsyncClient]


async def test_commands_tab_lists_commands_with_requester_approver_and_output(
    ui_as: UiAs, tenancy: Tenancy, client_for: Clients, enroll: Fleet
) -> None:
    web = await enroll("LON-WEB-01")
    asked = await client_for(tenancy.operator).post(
        "/api/v1/tools/rmm-run-command/invoke", json={"args": {"device": web.device_id, "command": "echo hi"}}
    )
    approval_id = asked.json()["approval_id"]
    decided = await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert decided.json()["status"] == "executed", decided.text
    handed = await web.agent.checkin()
    big = "x" * 100 + "\n"
    result = ok_result(handed.commands[0].id, big)
    result = result.model_copy(update={"truncated": True})
    assert (await web.agent.report_result(result)).status_code in (200, 204)

    client = await ui_as(tenancy.viewer)
    tab = (await client.get(f"/rmm/devices/{web.device_id}", params={"tab": "commands"})).text
    assert 'aria-label="Commands on LON-WEB-01"' in tab
    assert 'data-command-status="succeeded"' in tab and "echo hi" in tab
    assert "olga" in tab and "bob" in tab and f"#{approval_id}" in tab
    assert 'data-testid="truncated"' in tab and "x" * 100 in tab

    output = (await (await ui_as(tenancy.approver)).get(f"/policies/approvals/{approval_id}/output")).text
    assert "echo hi" in output and "x" * 100 in output and "LON-WEB-01" in output

    listed = await client_for(tenancy.viewer).post(
        "/api/v1/tools/rmm-list-commands/invoke", json={"args": {"device": web.device_id}}
    )
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["result"]["commands"]
    assert row["approved_by"] == ["bob"] and row["requested_by"] == "olga" and row["truncated"] is True
    assert row["exit_code"] == 0 and row["duration_seconds"] is not None
