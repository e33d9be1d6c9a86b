"""Approvals an approver can read: what will run, with names instead of ids, stored with the approval."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from agent.protocol import OsFamily
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
        client_for(tenancy.operator), "rmm-run-script",
        {"script": "wipe-user-profile", "device_ids": devices, "params": {"user": "kim"}},
    )  # fmt: skip
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
