"""Scriptable clients against a live hub: ``rmmhub tools list|invoke --json`` and ``rmmhub mcp --stdio``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.conftest import LiveServer, Tenancy
from tests.hub.mcp.test_mcp_server import register_tools


def _cli(live: LiveServer, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RMMHUB_URL": live.url, "RMMHUB_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_tools_list_and_invoke_json(live_server: LiveServer, tenancy: Tenancy) -> None:
    listed = _cli(live_server, tenancy.viewer.token, "tools", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {"id", "name", "mode", "min_role", "description"} <= set(rows[0])
    assert any(r["name"] == "hub-get-approval" for r in rows)
    invoked = _cli(live_server, tenancy.viewer.token, "tools", "invoke", "hub-get-approval", "--args",
                   '{"approval_id": 999}', "--json")  # fmt: skip
    assert invoked.returncode == 1
    assert "does not exist" in json.loads(invoked.stdout)["message"]
    bad = _cli(live_server, tenancy.viewer.token, "tools", "invoke", "hub-get-approval", "--args", "[1]")
    assert bad.returncode == 2 and "JSON object" in bad.stderr


async def test_stdio_proxy_driven_by_the_sdk_client(live_server: LiveServer, tenancy: Tenancy) -> None:
    calls = register_tools(live_server)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "hub.cli", "mcp", "--stdio"],
        env={**os.environ, "RMMHUB_URL": live_server.url, "RMMHUB_TOKEN": tenancy.operator.token},
    )  # fmt: skip
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert "hub-get-approval" in tools and tools["hub-get-approval"].output_schema
        result = await session.call_tool("hub-get-approval", {"approval_id": 12345})
        assert result.is_error
        assert "wipe-device" not in tools and "requires approval" in (tools["restart-service"].description or "")
        done = await session.call_tool("get-device-info", {"device": "PC-3"})
        assert (done.structured_content or {})["result"]["device"] == "PC-3"
        pending = await session.call_tool(
            "restart-service", {"device": "PC-3"}, meta={"rmmhub/reason": "ticket 42: service hung"}
        )
        approval = (pending.structured_content or {})["approval"]
        assert approval["status"] == "pending" and "ticket 42: service hung" in approval["description"]
    assert calls == [("get-device-info", {"device": "PC-3"})]
