"""The script library end to end: default library, dynamic tools following the database, runs."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from agent.protocol import CommandKind, CommandStatus, OsFamily, Shell
from hub.core.context import HubContext
from hub.core.db import Database
from native_rmm.events import SCRIPTS_CHANGED, ScriptsChanged
from native_rmm.models.commands import Command
from native_rmm.scripts import jobs as script_jobs
from native_rmm.scripts.library import DEFAULT_SCRIPTS
from policies.pipeline import Gate
from tests.conftest import Tenancy
from tests.waiting import eventually

CLEANUP = {
    "name": "Clean temp",
    "os_type": "LINUX",
    "shell": "bash",
    "body": 'find /tmp -mtime +"$RMM_PARAM_DAYS" -type f | head -n "$max"\n',
    "description": "Lists old temporary files.",
    "parameters": {
        "properties": {"days": {"type": "integer", "minimum": 1, "default": 7}, "max": {"type": "integer"}},
        "required": ["max"],
    },
}


def tool_names(hub: HubContext, org_id: int) -> set[str]:
    return {t.name for t in hub.registry.visible(org_id) if t.name.startswith("rmm-script-")}


async def invoke(client: httpx.AsyncClient, tool: str, args: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/v1/tools/{tool}/invoke", json={"args": args, "reason": "test"})


async def test_default_library_is_seeded_once_with_tools(tenancy: Tenancy, hub: HubContext, client_for) -> None:
    scripts = (await client_for(tenancy.viewer).get("/api/v1/rmm/scripts")).json()
    assert len(scripts) == len(DEFAULT_SCRIPTS) and all(s["is_builtin"] for s in scripts)
    assert {s["os_type"] for s in scripts} == {"WINDOWS", "LINUX", "MACOS"}
    assert tool_names(hub, tenancy.org_id) == {s["tool"] for s in scripts}
    assert "rmm-script-restart-print-spooler" in tool_names(hub, tenancy.org_id)
    assert tool_names(hub, tenancy.org_id + 1000) == set()  # org-scoped

    version = hub.registry.version
    await script_jobs.load_all(hub, hub.components.get(Gate))  # a restart seeds nothing twice
    assert len((await client_for(tenancy.viewer).get("/api/v1/rmm/scripts")).json()) == len(DEFAULT_SCRIPTS)
    assert hub.registry.version == version

    policies = (await client_for(tenancy.admin).get("/api/v1/policies", params={"source": "native_rmm"})).json()
    modes = {p["tool"]: p["mode"] for p in policies}
    assert modes["native_rmm:rmm-script-top-processes-linux"] == "approval"
    assert modes["native_rmm:rmm-run-script"] == "approval" and modes["native_rmm:rmm-list-scripts"] == "auto"


async def test_dynamic_tool_follows_create_update_disable_delete(tenancy: Tenancy, hub: HubContext, client_for) -> None:
    admin, operator = client_for(tenancy.admin), client_for(tenancy.operator)
    assert (await operator.post("/api/v1/rmm/scripts", json=CLEANUP)).status_code == 403

    v0 = hub.registry.version
    created = await admin.post("/api/v1/rmm/scripts", json=CLEANUP)
    assert created.status_code == 201, created.text
    script = created.json()
    assert script["slug"] == "clean-temp" and script["tool"] == "rmm-script-clean-temp" and script["revision"] == 1
    tool = hub.registry.resolve("rmm-script-clean-temp", tenancy.org_id)
    assert hub.registry.version > v0 and tool.org_id == tenancy.org_id
    assert tool.input_schema["required"] == ["max", "device_ids"]
    assert set(tool.input_schema["properties"]) == {"days", "max", "device_ids"}
    assert tool.input_schema["properties"]["device_ids"]["minItems"] == 1

    twin = await admin.post("/api/v1/rmm/scripts", json=CLEANUP)
    assert twin.json()["slug"] == "clean-temp-2"
    taken = await admin.post("/api/v1/rmm/scripts", json=CLEANUP | {"slug": "clean-temp"})
    assert taken.status_code == 409

    v1 = hub.registry.version
    params = {"properties": {"pattern": {"type": "string", "default": "*.tmp"}}}
    updated = await admin.put(f"/api/v1/rmm/scripts/{script['id']}", json={"parameters": params})
    assert updated.status_code == 200 and updated.json()["revision"] == 2
    tool = hub.registry.resolve("rmm-script-clean-temp", tenancy.org_id)
    assert hub.registry.version > v1 and set(tool.input_schema["properties"]) == {"pattern", "device_ids"}

    v2 = hub.registry.version
    assert (await admin.put(f"/api/v1/rmm/scripts/{script['id']}", json={"parameters": params})).status_code == 200
    assert hub.registry.version == v2  # nothing changed, nothing bumped

    await admin.put(f"/api/v1/rmm/scripts/{script['id']}", json={"enabled": False})
    assert "rmm-script-clean-temp" not in tool_names(hub, tenancy.org_id) and hub.registry.version > v2
    await admin.put(f"/api/v1/rmm/scripts/{script['id']}", json={"enabled": True})
    assert "rmm-script-clean-temp" in tool_names(hub, tenancy.org_id)

    bad = await admin.put(f"/api/v1/rmm/scripts/{script['id']}", json={"parameters": {"properties": {"x": {}}}})
    assert bad.status_code == 422 and "parameter 'x'" in bad.json()["message"]
    cmd = await admin.put(f"/api/v1/rmm/scripts/{script['id']}", json={"shell": "cmd"})
    assert cmd.status_code == 400 and "only on Windows" in cmd.json()["message"]

    assert (await admin.delete(f"/api/v1/rmm/scripts/{script['id']}")).status_code == 204
    assert "rmm-script-clean-temp" not in tool_names(hub, tenancy.org_id)
    assert "rmm-script-clean-temp-2" in tool_names(hub, tenancy.org_id)


async def test_pending_approvals_fail_when_the_script_changes_or_goes(
    tenancy: Tenancy, hub: HubContext, client_for, device_factory
) -> None:
    admin, operator, approver = client_for(tenancy.admin), client_for(tenancy.operator), client_for(tenancy.approver)
    device = await device_factory(tenancy.org_id)
    script = (await admin.post("/api/v1/rmm/scripts", json=CLEANUP)).json()

    pending = await invoke(operator, "rmm-script-clean-temp", {"device_ids": [device], "max": 5})
    assert pending.status_code == 202, pending.text
    first = pending.json()["approval_id"]
    await admin.put(f"/api/v1/rmm/scripts/{script['id']}", json={"body": "echo changed\n"})
    failed = (await approver.get(f"/api/v1/approvals/{first}")).json()
    assert failed["status"] == "failed" and "was changed by alice (body)" in failed["error"]

    second = (await invoke(operator, "rmm-script-clean-temp", {"device_ids": [device], "max": 5})).json()["approval_id"]
    await admin.delete(f"/api/v1/rmm/scripts/{script['id']}")
    gone = (await approver.get(f"/api/v1/approvals/{second}")).json()
    assert gone["status"] == "failed" and "was deleted by alice" in gone["error"]
    late = await approver.post(f"/api/v1/approvals/{second}/approve", json={})
    assert late.status_code == 409 and "already failed" in late.json()["message"]
    unknown = await invoke(operator, "rmm-script-clean-temp", {"device_ids": [device], "max": 5})
    assert unknown.status_code == 404


async def test_run_script_after_approval_enqueues_the_command(
    tenancy: Tenancy, hub: HubContext, db: Database, client_for, device_factory
) -> None:
    admin, operator, approver = client_for(tenancy.admin), client_for(tenancy.operator), client_for(tenancy.approver)
    device = await device_factory(tenancy.org_id, os_family=OsFamily.LINUX)
    script = (await admin.post("/api/v1/rmm/scripts", json=CLEANUP)).json()

    asked = await operator.post(
        f"/api/v1/rmm/scripts/{script['id']}/run", json={"device_ids": [device], "params": {"max": 3}, "reason": "disk"}
    )
    assert asked.status_code == 202 and asked.json()["status"] == "pending_approval"
    approval_id = asked.json()["approval_id"]
    decided = await approver.post(f"/api/v1/approvals/{approval_id}/approve", json={"note": "ok"})
    assert decided.status_code == 200 and decided.json()["status"] == "executed", decided.text
    [queued] = decided.json()["result"]["commands"]
    assert queued["device_id"] == device and queued["status"] == "queued"

    async with db.sessionmaker() as session:
        command = (await session.execute(select(Command).where(Command.id == queued["command_id"]))).scalar_one()
    assert (command.kind, command.shell, command.script_id) == (CommandKind.SCRIPT, Shell.BASH, script["id"])
    assert command.body == CLEANUP["body"] and command.approval_id == approval_id
    assert command.env == {"RMM_PARAM_MAX": "3", "max": "3", "RMM_PARAM_DAYS": "7", "days": "7"}
    assert command.created_by == "olga" and command.status is CommandStatus.QUEUED

    runs = (await client_for(tenancy.viewer).get("/api/v1/rmm/script-runs", params={"device_id": device})).json()
    assert [(r["command_id"], r["script_name"], r["status"]) for r in runs] == [(command.id, "Clean temp", "queued")]
    listed = await invoke(client_for(tenancy.viewer), "rmm-list-script-runs", {"device_id": device})
    assert listed.json()["result"]["count"] == 1


async def test_run_errors_are_clear(tenancy: Tenancy, hub: HubContext, client_for, device_factory) -> None:
    admin, operator = client_for(tenancy.admin), client_for(tenancy.operator)
    linux = await device_factory(tenancy.org_id, os_family=OsFamily.LINUX, hostname="lin")
    win = {"name": "Win only", "os_type": "WINDOWS", "shell": "powershell", "body": "Get-Date"}
    win_id = (await admin.post("/api/v1/rmm/scripts", json=win)).json()["id"]
    lin_id = (await admin.post("/api/v1/rmm/scripts", json=CLEANUP)).json()["id"]
    set_auto = await admin.put("/api/v1/policies/native_rmm:rmm-run-script", json={"mode": "auto", "note": "tests"})
    assert set_auto.status_code == 200
    # The runner applies each script's own policy when stricter (issue 8 item 11): let these run at once too.
    for tool in ("rmm-script-win-only", "rmm-script-clean-temp"):
        put = await admin.put(f"/api/v1/policies/native_rmm:{tool}", json={"mode": "auto", "note": "tests"})
        assert put.status_code == 200, put.text

    mismatch = await invoke(operator, "rmm-run-script", {"script": win_id, "device_ids": [linux]})
    assert mismatch.status_code == 400
    assert "is for WINDOWS but device" in mismatch.json()["message"] and "runs LINUX" in mismatch.json()["message"]
    by_slug = await invoke(
        operator, "rmm-run-script", {"script": "clean-temp", "device_ids": [linux], "params": {"max": 1}}
    )
    assert by_slug.status_code == 200 and by_slug.json()["result"]["script"] == "clean-temp"
    bad_param = await invoke(
        operator, "rmm-run-script", {"script": lin_id, "device_ids": [linux], "params": {"max": "x"}}
    )
    assert bad_param.status_code == 422 and "$.params.max" in bad_param.json()["message"]
    no_device = await invoke(
        operator, "rmm-run-script", {"script": lin_id, "device_ids": [999999], "params": {"max": 1}}
    )
    assert no_device.status_code == 404 and "999999" in no_device.json()["message"]
    no_script = await invoke(operator, "rmm-run-script", {"script": "nope", "device_ids": [linux]})
    assert no_script.status_code == 404
    empty = await invoke(operator, "rmm-run-script", {"script": lin_id, "device_ids": []})
    assert empty.status_code == 422

    await admin.put(f"/api/v1/rmm/scripts/{lin_id}", json={"enabled": False})
    disabled = await invoke(operator, "rmm-run-script", {"script": lin_id, "device_ids": [linux], "params": {"max": 1}})
    assert disabled.status_code == 400 and "disabled" in disabled.json()["message"]


async def test_other_replicas_resync_on_script_changed(tenancy: Tenancy, hub: HubContext, db: Database) -> None:
    """A script written by another replica shows up here once ``script.changed`` arrives on the bus."""
    from native_rmm.models.scripts import Script, ScriptOsType

    async with db.transaction() as session:  # another replica's write: no local re-sync scheduled
        session.add(
            Script(
                org_id=tenancy.org_id,
                name="Remote",
                slug="remote",
                os_type=ScriptOsType.ALL,
                shell=Shell.PYTHON,
                body="print(1)",
                parameters={"type": "object", "properties": {}},
            )
        )
    assert "rmm-script-remote" not in tool_names(hub, tenancy.org_id)
    await hub.bus.publish(SCRIPTS_CHANGED.event(tenancy.org_id, ScriptsChanged(org_id=tenancy.org_id)))
    await eventually(lambda: "rmm-script-remote" in tool_names(hub, tenancy.org_id), within=5, message="the tool")
