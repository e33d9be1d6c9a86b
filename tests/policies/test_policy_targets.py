"""The gate's policy-target mechanism (issue 8 item 11): a tool declares which tools' work it runs for given
args, and the strictest policy (and every role) among them all applies, for bulk targets too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest

from hub.core.context import HubContext
from hub.core.registry import PolicyTarget, Tool, ToolAnnotations, ToolContext
from hub.core.roles import Role
from tests.conftest import Tenancy, TestUser
from tests.policies.conftest import DemoTools

Clients = Callable[[TestUser], httpx.AsyncClient]
BULK_SCHEMA = {
    "type": "object",
    "properties": {"tools": {"type": "array", "items": {"type": "string"}}, "device": {"type": "string"}},
    "required": ["tools", "device"],
    "additionalProperties": False,
}


@pytest.fixture
def bulk(hub: HubContext, demo_tools: DemoTools) -> DemoTools:
    """``bulk-act``: a read-only-annotated (so ``auto``) viewer tool whose args name the demo tools it runs."""

    async def targets(ctx: ToolContext, args: dict[str, Any]) -> Sequence[PolicyTarget]:
        return [PolicyTarget(f"testsrc:{name}", {"device": args["device"]}) for name in args["tools"]]

    async def run(ctx: ToolContext, args: dict[str, Any]) -> Any:
        demo_tools.calls.append(("bulk-act", args))
        return {"ran": args["tools"]}

    hub.registry.register(
        Tool(
            "testsrc",
            "bulk-act",
            "Get several things at once.",
            BULK_SCHEMA,
            run,
            ToolAnnotations(read_only=True),
            min_role=Role.VIEWER,
            policy_targets=targets,
            result_type=dict[str, Any],
        )
    )
    return demo_tools


async def _bulk(client: httpx.AsyncClient, *tools: str) -> httpx.Response:
    return await client.post("/api/v1/tools/bulk-act/invoke", json={"args": {"tools": list(tools), "device": "pc-1"}})


async def test_all_auto_targets_run_at_once(tenancy: Tenancy, client_for: Clients, bulk: DemoTools) -> None:
    r = await _bulk(client_for(tenancy.viewer), "get-device-info", "no-such-tool")
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    assert bulk.ran("bulk-act") == [{"tools": ["get-device-info", "no-such-tool"], "device": "pc-1"}]


async def test_one_never_target_refuses_the_whole_call(tenancy: Tenancy, client_for: Clients, bulk: DemoTools) -> None:
    r = await _bulk(client_for(tenancy.admin), "get-device-info", "restart-service", "wipe-device")
    assert r.status_code == 403
    assert "bulk-act would run wipe-device, which is not allowed by policy" in r.json()["message"]
    assert bulk.calls == []


async def test_the_strictest_target_asks_and_owns_the_approval(
    tenancy: Tenancy, client_for: Clients, bulk: DemoTools
) -> None:
    r = await _bulk(client_for(tenancy.operator), "get-device-info", "restart-service")
    assert r.status_code == 202, r.text
    shown = (await client_for(tenancy.admin).get(f"/api/v1/approvals/{r.json()['approval_id']}")).json()
    assert (shown["tool"], shown["via_tool"], shown["args"]) == (
        "testsrc:restart-service",
        "testsrc:bulk-act",
        {"device": "pc-1"},
    )
    approved = await client_for(tenancy.approver).post(f"/api/v1/approvals/{shown['id']}/approve", json={})
    assert approved.json()["status"] == "executed"
    assert bulk.ran("restart-service") == [{"device": "pc-1"}] and bulk.ran("bulk-act") == []


async def test_every_target_role_applies(tenancy: Tenancy, client_for: Clients, bulk: DemoTools) -> None:
    r = await _bulk(client_for(tenancy.viewer), "get-device-info", "restart-service")
    assert r.status_code == 403
    assert "cannot use restart-service" in r.json()["message"] and "operator" in r.json()["message"]
    assert bulk.calls == []
