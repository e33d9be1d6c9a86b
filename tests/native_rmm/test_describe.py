"""Approvals an approver can read: what will run, with names instead of ids, stored with the approval."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from agent.protocol import OsFamily
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, MetricName
from tests.conftest import Tenancy, TestUser
from tests.native_rmm.scripts.test_runner_policy import WIPE, WIPE_TOOL

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _invoke(client: httpx.AsyncClient, tool: str, args: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/v1/tools/{tool}/invoke", json={"args": args, "reason": "ticket 42"})


async def test_run_command_approval_names_the_device_its_place_and_the_account(
    tenancy: Tenancy, client_for: Clients, device_factory: Any
) -> None:
    await device_factory(tenancy.org_id, hostname="vm", os_family=OsFamily.LINUX)
    win = await device_factory(tenancy.org_id, hostname="PC-7", os_family=OsFamily.WINDOWS)
    asked = await _invoke(client_for(tenancy.operator), "rmm-run-command", {"device": "vm", "command": "uname -a"})
    assert asked.status_code == 202, asked.text
    shown = (await client_for(tenancy.approver).get(f"/api/v1/approvals/{asked.json()['approval_id']}")).json()
    summary = shown["description_detail"]["summary"]
    assert summary == "Run `uname -a` (bash) on vm (Unassigned / Unassigned) as root", summary
    assert shown["description"].startswith(summary) and "uname -a" in shown["description_detail"]["body"]

    asked = await _invoke(client_for(tenancy.operator), "rmm-run-command", {"device": win, "command": "Get-Date"})
    shown = (await client_for(tenancy.approver).get(f"/api/v1/approvals/{asked.json()['approval_id']}")).json()
    assert shown["description_detail"]["summary"].endswith("on PC-7 (Unassigned / Unassigned) as SYSTEM")


async def test_script_approval_lists_body_params_and_every_target(
    tenancy: Tenancy, client_for: Clients, device_factory: Any
) -> None:
    admin = client_for(tenancy.admin)
    devices = [await device_factory(tenancy.org_id, hostname=f"web-{i}") for i in (1, 2, 3)]
    assert (await admin.post("/api/v1/rmm/scripts", json=WIPE)).status_code == 201
    await admin.put(f"/api/v1/policies/{WIPE_TOOL}", json={"mode": "approval"})
    asked = await _invoke(
        client_for(tenancy.operator),
        "rmm-run-script",
        {"script": "wipe-user-profile", "device_ids": devices, "params": {"user": "kim"}},
    )
    assert asked.status_code == 202, asked.text
    shown = (await admin.get(f"/api/v1/approvals/{asked.json()['approval_id']}")).json()
    detail = shown["description_detail"]
    assert detail["summary"] == "Run script “Wipe user profile” (bash) on 3 devices as root"
    assert detail["targets"] == [f"web-{i} (Unassigned / Unassigned)" for i in (1, 2, 3)]
    assert detail["target_count"] == 3
    assert detail["params"] == {"user": "kim"}
    assert detail["body"] == WIPE["body"] and detail["body_label"] == "Script body (bash)"
    assert "Targets (3): web-1 (Unassigned / Unassigned)" in shown["description"]


async def test_unknown_device_still_records_a_readable_request(tenancy: Tenancy, client_for: Clients) -> None:
    asked = await _invoke(client_for(tenancy.operator), "rmm-run-command", {"device": "nope", "command": "id"})
    assert asked.status_code == 202
    shown = (await client_for(tenancy.approver).get(f"/api/v1/approvals/{asked.json()['approval_id']}")).json()
    assert "could not be described" in shown["description"] and "nope" in shown["description"]


async def _shown(client: httpx.AsyncClient, asked: httpx.Response) -> dict[str, Any]:
    assert asked.status_code == 202, asked.text
    return dict((await client.get(f"/api/v1/approvals/{asked.json()['approval_id']}")).json())


async def test_ticket_approvals_name_the_ticket_and_devices_and_carry_the_text(
    tenancy: Tenancy, client_for: Clients, device_factory: Any
) -> None:
    operator, approver = client_for(tenancy.operator), client_for(tenancy.approver)
    device = await device_factory(tenancy.org_id, hostname="LDN-FS-02")
    create = {"title": "Disk nearly full", "description": "Users cannot save.", "priority": "high"}
    shown = await _shown(approver, await _invoke(operator, "rmm-create-ticket", {**create, "device_ids": [device]}))
    detail = shown["description_detail"]
    assert detail["summary"] == "Create ticket 'Disk nearly full' (high) linked to LDN-FS-02 (Unassigned / Unassigned)"
    assert detail["body"] == "Users cannot save." and detail["body_label"] == "Description"
    decided = await approver.post(f"/api/v1/approvals/{shown['id']}/approve", json={})
    ticket = decided.json()["result"]["id"]

    comment = {"ticket_id": ticket, "body": "Cleaned the logs; 40 GB free."}
    detail = (await _shown(approver, await _invoke(operator, "rmm-comment-ticket", comment)))["description_detail"]
    assert detail["summary"] == f"Comment on ticket #{ticket} 'Disk nearly full'"
    assert detail["body"] == comment["body"] and detail["body_label"] == "Comment"

    update = {"ticket_id": ticket, "status": "resolved", "note": "fixed"}
    detail = (await _shown(approver, await _invoke(operator, "rmm-update-ticket", update)))["description_detail"]
    assert detail["summary"] == f"Update ticket #{ticket} 'Disk nearly full': status resolved"
    assert detail["body"] == "fixed"

    missing = await _shown(approver, await _invoke(operator, "rmm-comment-ticket", {"ticket_id": 99999, "body": "x"}))
    assert missing["description_detail"]["summary"] == "Comment on ticket #99999 (not found)"


async def test_alert_approvals_name_the_alert_and_its_device(
    tenancy: Tenancy, client_for: Clients, device_factory: Any, db: Any
) -> None:
    admin, operator = client_for(tenancy.admin), client_for(tenancy.operator)
    device = await device_factory(tenancy.org_id, hostname="LDN-LAP-07")
    async with db.transaction() as session:
        alert = Alert(
            org_id=tenancy.org_id,
            device_id=device,
            source=AlertSource.METRIC,
            metric=MetricName.DISK,
            severity=AlertSeverity.WARNING,
            message="Disk 93 % (warn at 90 %)",
        )
        session.add(alert)
        await session.flush()
        alert_id = alert.id
    for tool, verb in (("rmm-acknowledge-alert", "Acknowledge"), ("rmm-resolve-alert", "Resolve")):
        assert (await admin.put(f"/api/v1/policies/{tool}", json={"mode": "approval"})).status_code == 200
        shown = await _shown(admin, await _invoke(operator, tool, {"alert_id": alert_id}))
        assert shown["description_detail"]["summary"] == (
            f"{verb} alert #{alert_id} 'Disk 93 % (warn at 90 %)' (warning) on LDN-LAP-07 (Unassigned / Unassigned)"
        )
