"""The MCP server at /mcp against a live hub with the SDK's own client (both databases)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import mcp_types as types

from hub.core.auth.service import list_api_tokens, revoke_api_token
from hub.core.db import Database
from hub.core.registry import Tool, ToolAnnotations, ToolContext
from hub.core.roles import Role
from tests.conftest import LiveServer, Tenancy
from tests.hub.mcp.conftest import mcp_session
from tests.waiting import eventually

SCHEMA = {
    "type": "object",
    "properties": {"device": {"type": "string", "minLength": 1}},
    "required": ["device"],
    "additionalProperties": False,
}


def register_tools(live: LiveServer) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    def handler(name: str) -> Any:
        async def run(ctx: ToolContext, args: dict[str, Any]) -> Any:
            calls.append((name, args))
            return {"ok": True, "tool": name, "device": args["device"]}

        return run

    live.app.state.hub.registry.register_all(
        [
            Tool("mcptest", "get-device-info", "Get details of a device.", SCHEMA, handler("get-device-info"),
                 ToolAnnotations(read_only=True, open_world=False), min_role=Role.VIEWER, result_type=dict[str, Any]),
            Tool("mcptest", "restart-service", "Restart a service on a device.", SCHEMA, handler("restart-service"),
                 ToolAnnotations(read_only=False, destructive=False, idempotent=True), result_type=dict[str, Any]),
            Tool("mcptest", "wipe-device", "Erase every disk of a device.", SCHEMA, handler("wipe-device"),
                 ToolAnnotations(destructive=True), result_type=dict[str, Any]),
        ]
    )  # fmt: skip
    return calls


async def test_list_and_call_tools_as_the_tokens_user(live_server: LiveServer, tenancy: Tenancy) -> None:
    calls = register_tools(live_server)
    async with mcp_session(live_server, tenancy.operator.token) as session:
        listed = {t.name: t for t in (await session.list_tools()).tools}
        assert "wipe-device" not in listed  # never-mode: not listed at all
        info, restart = listed["get-device-info"], listed["restart-service"]
        assert info.annotations is not None and info.annotations.read_only_hint is True
        assert info.annotations.open_world_hint is False
        assert restart.annotations is not None and restart.annotations.idempotent_hint is True
        assert restart.annotations.destructive_hint is False
        assert "requires approval" in (restart.description or "")
        assert "runs at once" in (info.description or "")
        assert info.output_schema is not None and info.output_schema["properties"]["result"]["type"] == "object"
        assert "hub-get-approval" in listed

        done = await session.call_tool("get-device-info", {"device": "PC-1"})
        assert not done.is_error
        assert done.structured_content is not None
        assert done.structured_content["status"] == "done"
        assert done.structured_content["result"] == {"ok": True, "tool": "get-device-info", "device": "PC-1"}

        pending = await session.call_tool("restart-service", {"device": "PC-2"})
        assert not pending.is_error
        content = pending.structured_content
        assert content is not None and content["status"] == "pending_approval"
        approval_id = content["approval"]["approval_id"]
        assert "restart-service" in content["approval"]["description"]
        assert "hub-get-approval" in content["approval"]["follow"]
        assert calls == [("get-device-info", {"device": "PC-1"})]

        bad = await session.call_tool("get-device-info", {"device": ""})
        assert bad.is_error

        # An approver decides in the dashboard (another user): the report shows the result.
        async with httpx.AsyncClient(base_url=live_server.url) as approver:
            from tests.ui.conftest import ui_login

            csrf = await ui_login(approver, tenancy.approver.username, tenancy.approver.password)
            decided = await approver.post(
                f"/policies/approvals/{approval_id}/decide",
                data={"csrf_token": csrf, "decision": "approve", "note": "go ahead"},
            )
            assert decided.status_code in (200, 303), decided.text
        followed = await session.call_tool("hub-get-approval", {"approval_id": approval_id})
        report = (followed.structured_content or {})["result"]
        assert report["status"] == "executed", report
        assert report["result"] == {"ok": True, "tool": "restart-service", "device": "PC-2"}
        assert report["decision_note"] == "go ahead"

        resource = await session.read_resource(f"rmmhub://approvals/{approval_id}")
        first = resource.contents[0]
        assert isinstance(first, types.TextResourceContents) and '"executed"' in first.text

    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {tenancy.admin.token}"}
    ) as admin:
        audit = (await admin.get("/api/v1/audit", params={"limit": 200})).json()
    entries = audit if isinstance(audit, list) else audit.get("entries", audit.get("items", []))
    assert any(e.get("via") == "mcp (pytest-client)" for e in entries), entries[:3]


async def test_viewer_sees_only_read_tools(live_server: LiveServer, tenancy: Tenancy) -> None:
    register_tools(live_server)
    async with mcp_session(live_server, tenancy.viewer.token) as session:
        tools = (await session.list_tools()).tools
    names = {t.name for t in tools}
    assert "get-device-info" in names and "restart-service" not in names
    assert all(t.annotations is not None and t.annotations.read_only_hint for t in tools), [
        (t.name, t.annotations) for t in tools if not (t.annotations and t.annotations.read_only_hint)
    ]


async def test_revoked_token_refused(live_server: LiveServer, tenancy: Tenancy, db: Database) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        headers = {"Accept": "application/json, text/event-stream"}
        anonymous = await client.post("/mcp", json=body, headers=headers)
        assert anonymous.status_code == 401
        assert "resource_metadata=" in anonymous.headers["www-authenticate"]
        meta = await client.get("/.well-known/oauth-protected-resource/mcp")
        assert meta.status_code == 200 and meta.json()["resource"].endswith("/mcp")
        admin = {"Authorization": f"Bearer {tenancy.admin.token}"}
        tokens = (await client.get("/api/v1/me", headers=admin)).status_code
        assert tokens == 200
    async with mcp_session(live_server, tenancy.operator.token) as session:
        assert (await session.list_tools()).tools
    async with db.transaction() as dbs:
        for row in await list_api_tokens(dbs, tenancy.operator.id):
            await revoke_api_token(dbs, row.id)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        refused = await client.post(
            "/mcp", json=body, headers={**headers, "Authorization": f"Bearer {tenancy.operator.token}"}
        )
    assert refused.status_code == 401


async def test_list_changed_after_a_tool_is_added(live_server: LiveServer, tenancy: Tenancy) -> None:
    changed = asyncio.Event()

    async def on_message(message: Any) -> None:
        root = getattr(message, "root", message)
        if isinstance(root, types.ToolListChangedNotification):
            changed.set()

    async with mcp_session(live_server, tenancy.operator.token, message_handler=on_message) as session:
        before = {t.name for t in (await session.list_tools()).tools}
        async with httpx.AsyncClient(
            base_url=live_server.url, headers={"Authorization": f"Bearer {tenancy.admin.token}"}
        ) as admin:
            made = await admin.post(
                "/api/v1/rmm/scripts",
                json={"name": "Disk cleanup", "os_type": "LINUX", "shell": "bash", "body": "echo cleaned"},
            )
            assert made.status_code == 201, made.text
        await asyncio.wait_for(changed.wait(), 30)
        after = {t.name for t in (await session.list_tools()).tools}
    assert "rmm-script-disk-cleanup" in after - before


async def test_progress_reports_the_decision_while_the_call_waits(live_server: LiveServer, tenancy: Tenancy) -> None:
    calls = register_tools(live_server)
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with mcp_session(live_server, tenancy.operator.token) as session:
        call = asyncio.create_task(
            session.call_tool("restart-service", {"device": "PC-9"}, progress_callback=on_progress)
        )
        try:
            async with httpx.AsyncClient(base_url=live_server.url) as approver:
                from tests.ui.conftest import ui_login

                csrf = await ui_login(approver, tenancy.approver.username, tenancy.approver.password)
                bearer = {"Authorization": f"Bearer {tenancy.approver.token}"}

                async def pending_id() -> int | None:
                    rows = (
                        await approver.get("/api/v1/approvals", params={"status": "pending"}, headers=bearer)
                    ).json()
                    return rows[0]["id"] if rows else None

                approval_id = await eventually(pending_id, message="the MCP call's approval is pending")
                await eventually(lambda: bool(progress), message="the waiting call reported progress")
                decided = await approver.post(
                    f"/policies/approvals/{approval_id}/decide", data={"csrf_token": csrf, "decision": "approve"}
                )
                assert decided.status_code == 200, decided.text
            result = await asyncio.wait_for(call, 60)
        finally:
            call.cancel()
    content = result.structured_content or {}
    assert content["status"] == "done", content
    assert content["result"] == {"ok": True, "tool": "restart-service", "device": "PC-9"}
    assert "waiting for an approver" in progress[0]
    assert "approved by" in progress[-1] and "ran" in progress[-1]
    assert calls == [("restart-service", {"device": "PC-9"})]


async def test_list_changed_after_a_policy_change(live_server: LiveServer, tenancy: Tenancy) -> None:
    register_tools(live_server)
    changed = asyncio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(getattr(message, "root", message), types.ToolListChangedNotification):
            changed.set()

    async with mcp_session(live_server, tenancy.operator.token, message_handler=on_message) as session:
        assert "get-device-info" in {t.name for t in (await session.list_tools()).tools}
        async with httpx.AsyncClient(
            base_url=live_server.url, headers={"Authorization": f"Bearer {tenancy.admin.token}"}
        ) as admin:
            put = await admin.put("/api/v1/policies/mcptest:get-device-info", json={"mode": "never", "note": "off"})
            assert put.status_code == 200, put.text
        await asyncio.wait_for(changed.wait(), 30)
        assert "get-device-info" not in {t.name for t in (await session.list_tools()).tools}
        refused = await session.call_tool("get-device-info", {"device": "PC-1"})
        assert refused.is_error and "not allowed by policy" in refused.content[0].text  # type: ignore[union-attr]
