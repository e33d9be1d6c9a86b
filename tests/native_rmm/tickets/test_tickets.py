"""Tickets through the gate: reads run at once, writes wait for another user's approval."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from agent.protocol import MetricsSample
from hub.core.context import HubContext
from native_rmm.alerts import service as alerts
from tests.conftest import Tenancy


async def approve(approver: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    decided = await approver.post(f"/api/v1/approvals/{response.json()['approval_id']}/approve", json={})
    assert decided.status_code == 200 and decided.json()["status"] == "executed", decided.text
    result: dict[str, Any] = decided.json()["result"]
    return result


async def invoke(client: httpx.AsyncClient, tool: str, args: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/v1/tools/{tool}/invoke", json={"args": args})


async def an_alert(hub: HubContext, org_id: int, device_id: int) -> int:
    sample = MetricsSample(
        taken_at=datetime.now(UTC),
        cpu_percent=99,
        memory_percent=1,
        memory_used_bytes=1,
        memory_total_bytes=2,
        uptime_seconds=1,
    )
    async with hub.db.transaction() as session:
        await alerts.evaluate_sample(session, org_id=org_id, device_id=device_id, sample=sample)
        [alert] = await alerts.list_alerts(session, org_id=org_id, device_id=device_id)
        return alert.id


async def test_ticket_lifecycle_with_approvals(tenancy: Tenancy, hub: HubContext, client_for, device_factory) -> None:
    operator, approver, viewer = client_for(tenancy.operator), client_for(tenancy.approver), client_for(tenancy.viewer)
    device = await device_factory(tenancy.org_id)
    alert_id = await an_alert(hub, tenancy.org_id, device)

    body = {
        "title": "Server slow",
        "description": "CPU pegged since 9am",
        "priority": "high",
        "device_ids": [device],
        "alert_ids": [alert_id],
        "reason": "customer called",
    }
    asked = await operator.post("/api/v1/rmm/tickets", json=body)
    own = await operator.post(f"/api/v1/approvals/{asked.json()['approval_id']}/approve", json={})
    assert own.status_code == 403  # an operator cannot approve, and nobody approves their own request
    ticket = await approve(approver, asked)
    assert ticket["status"] == "open" and ticket["priority"] == "high" and ticket["created_by"] == "olga"
    assert ticket["device_ids"] == [device] and ticket["alert_ids"] == [alert_id]

    listed = await invoke(viewer, "rmm-list-tickets", {"device_id": device})
    assert listed.status_code == 200 and [t["id"] for t in listed.json()["result"]["tickets"]] == [ticket["id"]]
    assert (await invoke(viewer, "rmm-list-tickets", {"search": "PEGGED"})).json()["result"]["count"] == 1
    assert (await invoke(viewer, "rmm-list-tickets", {"search": "printer"})).json()["result"]["count"] == 0
    assert (await invoke(viewer, "rmm-list-tickets", {"status": "closed"})).json()["result"]["count"] == 0

    update = {"status": "in_progress", "assignee_user_id": tenancy.operator.id, "note": "looking"}
    changed = await approve(approver, await operator.patch(f"/api/v1/rmm/tickets/{ticket['id']}", json=update))
    assert changed["status"] == "in_progress" and changed["assignee"] == "olga"
    assert [c["body"] for c in changed["comments"]] == ["assigned to olga; status: open → in_progress", "looking"]

    comment = await operator.post(f"/api/v1/rmm/tickets/{ticket['id']}/comments", json={"body": "rebooted the VM"})
    assert (await approve(approver, comment))["author"] == "olga"

    closed = await approve(
        approver,
        await operator.patch(
            f"/api/v1/rmm/tickets/{ticket['id']}", json={"status": "resolved", "assignee_user_id": None}
        ),
    )
    assert closed["status"] == "resolved" and closed["closed_at"] is not None and closed["assignee_user_id"] is None

    got = await invoke(viewer, "rmm-get-ticket", {"ticket_id": ticket["id"]})
    detail = got.json()["result"]
    assert (
        got.status_code == 200 and len(detail["comments"]) == 4 and detail["comments"][2]["body"] == "rebooted the VM"
    )
    assert (await invoke(viewer, "rmm-list-tickets", {})).json()["result"]["count"] == 0  # resolved is not active
    rest = (await viewer.get("/api/v1/rmm/tickets", params={"status": "resolved"})).json()
    assert [t["id"] for t in rest] == [ticket["id"]]


async def test_ticket_references_are_checked(tenancy: Tenancy, hub: HubContext, client_for) -> None:
    admin, viewer = client_for(tenancy.admin), client_for(tenancy.viewer)
    for tool in ("rmm-create-ticket", "rmm-update-ticket", "rmm-comment-ticket"):
        assert (await admin.put(f"/api/v1/policies/native_rmm:{tool}", json={"mode": "auto"})).status_code == 200
    operator = client_for(tenancy.operator)
    ghost = await invoke(operator, "rmm-create-ticket", {"title": "x", "device_ids": [424242]})
    assert ghost.status_code == 400 and "no device with id 424242" in ghost.json()["message"]
    nobody = await invoke(operator, "rmm-create-ticket", {"title": "x", "assignee_user_id": 424242})
    assert nobody.status_code == 400 and "no user with id 424242" in nobody.json()["message"]
    made = await invoke(operator, "rmm-create-ticket", {"title": "Printer jam"})
    assert made.status_code == 200 and made.json()["status"] == "done"
    ticket_id = made.json()["result"]["id"]
    missing = await invoke(operator, "rmm-comment-ticket", {"ticket_id": 999999, "body": "hi"})
    assert missing.status_code == 404
    assert (await viewer.post(f"/api/v1/rmm/tickets/{ticket_id}/comments", json={"body": "hi"})).status_code == 403
    bad_status = await invoke(operator, "rmm-update-ticket", {"ticket_id": ticket_id, "status": "done"})
    assert bad_status.status_code == 422
    assert (await viewer.get(f"/api/v1/rmm/tickets/{ticket_id}")).json()["title"] == "Printer jam"
    assert (await viewer.get("/api/v1/rmm/tickets/999999")).status_code == 404


async def test_ticket_tool_policies_are_seeded_sensibly(tenancy: Tenancy, hub: HubContext, client_for) -> None:
    policies = (await client_for(tenancy.admin).get("/api/v1/policies", params={"source": "native_rmm"})).json()
    modes = {p["tool"].split(":")[1]: p["mode"] for p in policies}
    assert modes["rmm-list-tickets"] == modes["rmm-get-ticket"] == "auto"
    assert modes["rmm-create-ticket"] == modes["rmm-update-ticket"] == modes["rmm-comment-ticket"] == "approval"
    assert modes["rmm-acknowledge-alert"] == modes["rmm-resolve-alert"] == modes["rmm-list-alerts"] == "auto"
