"""Customers and sites, who uses each device, tags, dynamic groups and targets: every tool through the gate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from agent.protocol import UserSession, UserSessions
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.errors import ToolArgumentError
from native_rmm.devices.targets import MAX_TARGETS
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.scripts import jobs as script_jobs
from native_rmm.testing.agentsim import SimAgent, sample_inventory
from policies.models import Approval, ApprovalStatus
from policies.outcome import InvocationStatus, Outcome
from policies.pipeline import Gate
from tests.conftest import Tenancy

Invoke = Callable[..., Awaitable[Outcome]]


@pytest.fixture
async def fleet(make_agent: Callable[..., SimAgent], base_token: str) -> dict[str, SimAgent]:
    agents = {}
    for hostname in ("BRS-FS-01", "BRS-PC-07", "LON-PC-02"):
        agent = make_agent(hostname)
        await agent.enroll(base_token)
        await agent.checkin(inventory=sample_inventory(hostname))
        agents[hostname] = agent
    return agents


def _ok(outcome: Outcome) -> Any:
    assert outcome.status is InvocationStatus.DONE, outcome.message
    return outcome.result


async def test_customers_and_sites(fleet: dict[str, SimAgent], invoke: Invoke, tenancy: Tenancy) -> None:
    admin = tenancy.admin
    refused = await invoke(tenancy.operator, "rmm-create-customer", {"name": "Contoso"})
    assert refused.status is InvocationStatus.REFUSED and "admin" in refused.message
    contoso = _ok(await invoke(admin, "rmm-create-customer", {"name": "Contoso", "first_site": "Bristol"}))
    assert [s["name"] for s in contoso["sites"]] == ["Bristol"]
    again = await invoke(admin, "rmm-create-customer", {"name": "contoso"})
    assert again.status is InvocationStatus.FAILED and "already exists" in again.message
    london = _ok(await invoke(admin, "rmm-create-site", {"customer_id": contoso["id"], "name": "London"}))
    renamed = _ok(await invoke(admin, "rmm-update-customer", {"customer_id": contoso["id"], "name": "Contoso Ltd"}))
    assert renamed["name"] == "Contoso Ltd"

    bristol = contoso["sites"][0]["id"]
    ids = [fleet["BRS-FS-01"].device_id, fleet["BRS-PC-07"].device_id]
    moved = _ok(
        await invoke(tenancy.operator, "rmm-move-devices", {"targets": {"device_ids": ids}, "site_id": bristol})
    )
    assert {(d["label"], d["customer"], d["site"]) for d in moved["devices"]} == {
        ("BRS-FS-01", "Contoso Ltd", "Bristol"),
        ("BRS-PC-07", "Contoso Ltd", "Bristol"),
    }
    listed = _ok(await invoke(tenancy.viewer, "rmm-list-devices", {"customer_id": contoso["id"]}))
    assert sorted(d["hostname"] for d in listed["devices"]) == ["BRS-FS-01", "BRS-PC-07"]
    customers = _ok(await invoke(tenancy.viewer, "rmm-list-customers", {}))
    assert [(c["name"], c["device_count"]) for c in customers] == [("Unassigned", 1), ("Contoso Ltd", 2)]

    busy = await invoke(admin, "rmm-update-customer", {"customer_id": contoso["id"], "archived": True})
    assert busy.status is InvocationStatus.FAILED and "still has 2 device(s)" in busy.message
    assert busy.error_status == 409
    empty_site = _ok(await invoke(admin, "rmm-update-site", {"site_id": london["id"], "archived": True}))
    assert empty_site["archived"] is True
    into_archived = await invoke(
        tenancy.operator, "rmm-move-devices", {"targets": {"device_ids": ids}, "site_id": london["id"]}
    )
    assert into_archived.status is InvocationStatus.FAILED and "archived" in into_archived.message
    unassigned = customers[0]
    never = await invoke(admin, "rmm-update-customer", {"customer_id": unassigned["id"], "archived": True})
    assert never.status is InvocationStatus.FAILED and "Unassigned" in never.message
    # Move them back by site, then the customer may be archived.
    _ok(
        await invoke(
            tenancy.operator,
            "rmm-move-devices",
            {"targets": {"site_id": bristol}, "site_id": unassigned["sites"][0]["id"]},
        )
    )
    archived = _ok(await invoke(admin, "rmm-update-customer", {"customer_id": contoso["id"], "archived": True}))
    assert archived["archived"] is True
    other_org = await invoke(admin, "rmm-create-site", {"customer_id": 999999, "name": "x"})
    assert other_org.status is InvocationStatus.FAILED and other_org.error_status == 404


async def test_who_uses_each_device(fleet: dict[str, SimAgent], invoke: Invoke, tenancy: Tenancy) -> None:
    fs, pc = fleet["BRS-FS-01"], fleet["BRS-PC-07"]
    since = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    users = UserSessions(
        logged_in=[UserSession(name="Priya.Shah", terminal="tty1", started_at=since)],
        last_user="Priya.Shah",
        last_login_at=since,
    )
    await pc.checkin(inventory=sample_inventory("BRS-PC-07").model_copy(update={"users": users}))
    seen = _ok(await invoke(tenancy.viewer, "rmm-get-device", {"device": "brs-pc-07"}))
    assert seen["logged_in_users"] == ["Priya.Shah"] and seen["last_user"] == "Priya.Shah"
    assert seen["user_sessions"][0]["terminal"] == "tty1" and seen["last_user_at"].startswith("2026-12-01T08:30")

    edited = _ok(
        await invoke(
            tenancy.operator,
            "rmm-update-device",
            {
                "device": fs.device_id,
                "description": "Bristol file server",
                "assigned_user_name": "Tom Jones",
                "assigned_user_email": "tom@contoso.example",
                "tags": ["Servers", "backup"],
            },
        )
    )
    assert edited["description"] == "Bristol file server" and edited["tags"] == ["backup", "servers"]
    assert edited["assigned_user_email"] == "tom@contoso.example"
    with pytest.raises(ToolArgumentError, match="assigned_user_email"):
        await invoke(tenancy.operator, "rmm-update-device", {"device": fs.device_id, "assigned_user_email": "nope"})
    nothing = await invoke(tenancy.operator, "rmm-update-device", {"device": fs.device_id})
    assert nothing.status is InvocationStatus.FAILED and "nothing to change" in nothing.message

    def hosts(result: Any) -> list[str]:
        return sorted(d["hostname"] for d in result["devices"])

    assert hosts(_ok(await invoke(tenancy.viewer, "rmm-list-devices", {"user": "PRIYA"}))) == ["BRS-PC-07"]
    assert hosts(_ok(await invoke(tenancy.viewer, "rmm-list-devices", {"user": "jones"}))) == ["BRS-FS-01"]
    assert hosts(_ok(await invoke(tenancy.viewer, "rmm-list-devices", {"user": "contoso.example"}))) == ["BRS-FS-01"]
    assert hosts(_ok(await invoke(tenancy.viewer, "rmm-list-devices", {"query": "file server"}))) == ["BRS-FS-01"]
    assert hosts(_ok(await invoke(tenancy.viewer, "rmm-list-devices", {"tag": "servers"}))) == ["BRS-FS-01"]
    listed = _ok(await invoke(tenancy.viewer, "rmm-list-devices", {"tag": "backup"}))["devices"][0]
    assert listed["assigned_user_name"] == "Tom Jones" and listed["tags"] == ["backup", "servers"]
    # An agent that reports nobody logged in keeps the last user.
    await pc.checkin(inventory=sample_inventory("BRS-PC-07").model_copy(update={"users": UserSessions()}))
    after = _ok(await invoke(tenancy.viewer, "rmm-get-device", {"device": pc.device_id}))
    assert after["logged_in_users"] == [] and after["last_user"] == "Priya.Shah"
    assert hosts(_ok(await invoke(tenancy.viewer, "rmm-list-devices", {"user": "priya"}))) == ["BRS-PC-07"]


async def test_tags_and_groups(fleet: dict[str, SimAgent], invoke: Invoke, tenancy: Tenancy) -> None:
    op = tenancy.operator
    ids = [a.device_id for a in fleet.values()]
    tagged = _ok(await invoke(op, "rmm-tag-devices", {"targets": {"device_ids": ids}, "add": ["Finance", "kiosk"]}))
    assert tagged["count"] == 3 and all(d["tags"] == ["finance", "kiosk"] for d in tagged["devices"])
    untagged = _ok(await invoke(op, "rmm-tag-devices", {"targets": {"tag": "finance"}, "remove": ["kiosk"]}))
    assert all(d["tags"] == ["finance"] for d in untagged["devices"])
    with pytest.raises(ToolArgumentError, match=r"\$\.add\[0\]"):
        await invoke(op, "rmm-tag-devices", {"targets": {"device_ids": ids}, "add": ["no spaces"]})
    both = await invoke(op, "rmm-tag-devices", {"targets": {"device_ids": ids, "tag": "finance"}, "add": ["x"]})
    assert both.status is InvocationStatus.FAILED and "exactly one way" in both.message and both.error_status == 422
    _ok(
        await invoke(
            op, "rmm-tag-devices", {"targets": {"device_ids": [fleet["LON-PC-02"].device_id]}, "remove": ["finance"]}
        )
    )

    group = _ok(
        await invoke(
            op, "rmm-create-group", {"name": "Finance Linux", "filter": {"tag": "finance", "os_family": "LINUX"}}
        )
    )
    assert group["filter"]["tag"] == "finance"
    empty = await invoke(op, "rmm-create-group", {"name": "Everything", "filter": {}})
    assert empty.status is InvocationStatus.FAILED and "at least one filter" in empty.message
    members = _ok(await invoke(tenancy.viewer, "rmm-get-group-devices", {"group": "finance linux"}))
    assert sorted(d["hostname"] for d in members["devices"]) == ["BRS-FS-01", "BRS-PC-07"]
    # A group resolves when used: tag one more device and it is a member.
    _ok(
        await invoke(
            op, "rmm-tag-devices", {"targets": {"device_ids": [fleet["LON-PC-02"].device_id]}, "add": ["finance"]}
        )
    )
    assert _ok(await invoke(tenancy.viewer, "rmm-get-group-devices", {"group": group["id"]}))["count"] == 3
    in_list = _ok(await invoke(tenancy.viewer, "rmm-list-devices", {"group": group["id"], "query": "brs"}))
    assert in_list["count"] == 2
    updated = _ok(
        await invoke(
            op,
            "rmm-update-group",
            {"group": group["id"], "name": "Finance", "filter": {"tag": "finance", "query": "lon"}},
        )
    )
    assert updated["name"] == "Finance"
    assert [d["hostname"] for d in _ok(await invoke(op, "rmm-get-group-devices", {"group": "Finance"}))["devices"]] == [
        "LON-PC-02"
    ]
    groups = _ok(await invoke(tenancy.viewer, "rmm-list-groups", {}))
    assert groups["count"] == 1 and groups["groups"][0]["name"] == "Finance"
    moved = _ok(
        await invoke(
            op,
            "rmm-move-devices",
            {"targets": {"group": "Finance"}, "site_id": (await _unassigned_site(invoke, tenancy))},
        )
    )
    assert [d["label"] for d in moved["devices"]] == ["LON-PC-02"]
    # Deleting is seeded "never" by the classifier (destructive verb) until an admin relaxes it.
    deleted = await invoke(tenancy.admin, "rmm-delete-group", {"group": "Finance"})
    assert deleted.status is InvocationStatus.REFUSED and deleted.policy == "never"
    missing = await invoke(tenancy.viewer, "rmm-get-group-devices", {"group": "nope"})
    assert missing.status is InvocationStatus.FAILED and "rmm-list-groups" in missing.message


async def _unassigned_site(invoke: Invoke, tenancy: Tenancy) -> int:
    return int(_ok(await invoke(tenancy.viewer, "rmm-list-customers", {}))[0]["sites"][0]["id"])


async def test_target_limits(fleet: dict[str, SimAgent], invoke: Invoke, tenancy: Tenancy, db: Database) -> None:
    site = await _unassigned_site(invoke, tenancy)
    async with db.transaction() as session:
        await session.execute(
            insert(Device),
            [
                {
                    "org_id": tenancy.org_id,
                    "site_id": site,
                    "hostname": f"BULK-{i:04d}",
                    "status": DeviceStatus.OFFLINE,
                    "ip_addresses": [],
                    "interfaces": [],
                    "hardware": {},
                }
                for i in range(MAX_TARGETS)
            ],
        )
    too_many = await invoke(tenancy.operator, "rmm-tag-devices", {"targets": {"site_id": site}, "add": ["all"]})
    assert too_many.status is InvocationStatus.FAILED
    assert f"{MAX_TARGETS + 3} devices match, but one action may target at most {MAX_TARGETS}" in too_many.message
    unknown = await invoke(tenancy.operator, "rmm-tag-devices", {"targets": {"device_ids": [987654]}, "add": ["x"]})
    assert unknown.status is InvocationStatus.FAILED and "#987654" in unknown.message and unknown.error_status == 404
    nothing = await invoke(tenancy.operator, "rmm-tag-devices", {"targets": {"tag": "absent"}, "add": ["x"]})
    assert nothing.status is InvocationStatus.FAILED and "no device matches tag 'absent'" in nothing.message


async def test_bulk_runs_are_one_approval(
    fleet: dict[str, SimAgent],
    invoke: Invoke,
    approve: Callable[..., Awaitable[Any]],
    tenancy: Tenancy,
    db: Database,
    hub: HubContext,
) -> None:
    await script_jobs.load_all(hub, hub.components.get(Gate))  # the library of the organisation made after start-up
    ids = [fleet["BRS-FS-01"].device_id, fleet["BRS-PC-07"].device_id]
    _ok(await invoke(tenancy.operator, "rmm-tag-devices", {"targets": {"device_ids": ids}, "add": ["bristol"]}))
    asked = await invoke(tenancy.operator, "rmm-bulk-run-command", {"targets": {"tag": "bristol"}, "command": "uptime"})
    assert asked.status is InvocationStatus.PENDING_APPROVAL and asked.approval_id is not None
    async with db.sessionmaker() as s:
        described = await s.get_one(Approval, asked.approval_id)
    assert described.description.startswith("Run `uptime` on 2 devices as root")
    assert "BRS-FS-01 (Unassigned / Unassigned)" in described.description
    ran = await approve(tenancy.approver, asked.approval_id)
    assert ran.status is ApprovalStatus.EXECUTED, ran.error
    assert sorted(t["label"] for t in ran.result["targets"]) == ["BRS-FS-01", "BRS-PC-07"]
    wrong = await invoke(
        tenancy.operator, "rmm-bulk-run-command", {"targets": {"tag": "bristol"}, "command": "dir", "shell": "cmd"}
    )
    refused = await approve(tenancy.approver, wrong.approval_id)
    assert refused.status is ApprovalStatus.FAILED and "cmd runs on Windows only" in (refused.error or "")
    async with db.sessionmaker() as s:
        assert len((await s.execute(select(Command))).scalars().all()) == 2  # all or nothing: none queued
    patches = await invoke(tenancy.operator, "rmm-bulk-install-patches", {"targets": {"tag": "bristol"}})
    assert patches.status is InvocationStatus.PENDING_APPROVAL

    script = await invoke(
        tenancy.operator, "rmm-run-script", {"script": "top-processes-linux", "targets": {"tag": "bristol"}}
    )
    if script.status is InvocationStatus.FAILED and "rmm-list-scripts" in script.message:
        pytest.fail(f"the built-in script library changed: {script.message}")
    assert script.status is InvocationStatus.PENDING_APPROVAL
    async with db.sessionmaker() as s:
        approval = await s.get_one(Approval, script.approval_id)
    assert approval.tool_id == "native_rmm:rmm-script-top-processes-linux", approval.tool_id
    assert sorted(approval.args["device_ids"]) == sorted(ids)  # the approval holds the exact devices
    assert approval.description_detail["targets"] == [
        "BRS-FS-01 (Unassigned / Unassigned)",
        "BRS-PC-07 (Unassigned / Unassigned)",
    ]
    done = await approve(tenancy.approver, script.approval_id)
    assert done.status is ApprovalStatus.EXECUTED, done.error
    async with db.sessionmaker() as s:
        commands = (await s.execute(select(Command).where(Command.script_id.is_not(None)))).scalars().all()
    assert sorted(c.device_id for c in commands) == sorted(ids)
    with pytest.raises(ToolArgumentError, match="device_ids or as targets"):
        await invoke(tenancy.operator, "rmm-run-script", {"script": "top-processes-linux"})
