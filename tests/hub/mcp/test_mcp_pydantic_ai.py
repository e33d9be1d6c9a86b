"""pydantic-ai's MCP toolset (the FastMCP client) against the live hub's /mcp: the assistant side of MCP."""

from __future__ import annotations

from typing import Any

from pydantic_ai import Agent
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from tests.conftest import LiveServer, Tenancy
from tests.hub.mcp.test_mcp_server import register_tools


def _model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    last = messages[-1]
    assert isinstance(last, ModelRequest)
    returns = [p for p in last.parts if isinstance(p, ToolReturnPart)]
    if returns:
        return ModelResponse(parts=[TextPart(" | ".join(str(p.content) for p in returns))])
    return ModelResponse(
        parts=[
            ToolCallPart("get-device-info", {"device": "PC-7"}, tool_call_id="t1"),
            ToolCallPart("restart-service", {"device": "PC-7"}, tool_call_id="t2"),
        ]
    )


async def test_pydantic_ai_toolset_lists_and_calls_gated_tools(
    live_answering_at_once: LiveServer, tenancy: Tenancy
) -> None:
    calls = register_tools(live_answering_at_once)
    toolset = MCPToolset(f"{live_answering_at_once.url}/mcp", auth=tenancy.operator.token, id="rmmhub", max_retries=1)
    agent = Agent(FunctionModel(_model), toolsets=[toolset])
    async with agent:
        tools = await toolset.get_tools(None)  # type: ignore[arg-type]
        assert "wipe-device" not in tools
        meta: dict[str, Any] = tools["get-device-info"].tool_def.metadata or {}
        assert meta["annotations"]["readOnlyHint"] is True
        assert "requires approval" in (tools["restart-service"].tool_def.description or "")
        result = await agent.run("PC-7 is slow")
    assert "'status': 'done'" in result.output or '"status": "done"' in result.output, result.output
    assert "pending_approval" in result.output
    assert calls == [("get-device-info", {"device": "PC-7"})]  # the approval tool did not run
