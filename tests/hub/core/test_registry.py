"""The tool registry: names, schemas, scopes, dynamic sync and the version counter."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from hub.core.errors import ToolArgumentError, UnknownToolError
from hub.core.registry import Tool, ToolContext, ToolRegistry, model_tool


async def _noop(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return args


def _tool(name: str, org_id: int | None = None, schema: dict[str, Any] | None = None) -> Tool:
    return Tool(
        "src", name, "Does a thing.", schema or {"type": "object"}, _noop, org_id=org_id, result_type=dict[str, Any]
    )


def test_llm_safe_names_and_schema_checked() -> None:
    with pytest.raises(ValueError, match="must match"):
        _tool("has space")
    with pytest.raises(ValueError, match="must match"):
        _tool("x" * 65)
    for _ in range(2):  # a schema is checked once, but a bad one is refused every time, not remembered as good
        with pytest.raises(ValueError, match="invalid input schema"):
            _tool("ok", schema={"type": "nonsense"})
    with pytest.raises(ValueError, match="not JSON"):
        _tool("ok", schema={"type": "object", "default": object()})


def test_register_resolve_and_scopes() -> None:
    reg = ToolRegistry()
    reg.register(_tool("get-a"))
    reg.register(_tool("rmm-script-x", org_id=1))
    assert reg.resolve("get-a", 2).id == "src:get-a"
    assert reg.resolve("src:rmm-script-x", 1).org_id == 1
    with pytest.raises(UnknownToolError):
        reg.resolve("rmm-script-x", 2)
    with pytest.raises(ValueError, match="already registered"):
        reg.register(_tool("get-a"))


def test_ambiguous_bare_name() -> None:
    reg = ToolRegistry()
    reg.register(_tool("get-a"))
    reg.register(Tool("other", "get-a", "Other.", {"type": "object"}, _noop, result_type=dict[str, Any]))
    with pytest.raises(UnknownToolError, match="ambiguous"):
        reg.resolve("get-a", 1)
    assert reg.resolve("other:get-a", 1).source == "other"


def test_sync_scope_adds_changes_removes_and_bumps_version() -> None:
    reg = ToolRegistry()
    seen: list[int] = []
    reg.on_change(lambda r: seen.append(r.version))
    v0 = reg.version
    assert reg.sync_scope(source="src", org_id=1, prefix="s-", tools=[_tool("s-a", 1), _tool("s-b", 1)])
    v1 = reg.version
    assert v1 > v0
    assert not reg.sync_scope(source="src", org_id=1, prefix="s-", tools=[_tool("s-a", 1), _tool("s-b", 1)])
    assert reg.version == v1, "no change, no new version"
    changed = _tool("s-b", 1, {"type": "object", "properties": {"x": {"type": "string"}}})
    assert reg.sync_scope(source="src", org_id=1, prefix="s-", tools=[changed])
    assert [t.name for t in reg.visible(1)] == ["s-b"]
    assert reg.visible(1)[0].input_schema["properties"]["x"]["type"] == "string"
    assert seen and seen[-1] == reg.version
    assert reg.remove_scope(source="src", org_id=1) == 1 and reg.visible(1) == []


def test_validation_paths() -> None:
    tool = _tool("t", schema={"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}})
    with pytest.raises(ToolArgumentError) as err:
        tool.validate_args({"ids": [1, "two"]})
    assert err.value.path == "$.ids[1]"
    with pytest.raises(ToolArgumentError, match="JSON object"):
        tool.validate_args(["not", "an", "object"])


class _Args(BaseModel):
    device: str = Field(min_length=1, description="device name")
    count: int = 1


async def test_model_tool_uses_docstring_and_schema() -> None:
    async def get_thing(ctx: ToolContext, args: _Args) -> str:
        """Get the thing of a device."""
        return f"{args.device}:{args.count}"

    tool = model_tool(source="src", name="get-thing", args_model=_Args, handler=get_thing)
    assert tool.description == "Get the thing of a device."
    assert tool.input_schema["required"] == ["device"]
    assert await tool.handler(None, {"device": "pc", "count": 2}) == "pc:2"  # type: ignore[arg-type]


async def test_tools_of_one_model_get_their_own_schema() -> None:
    """Schemas are generated once per model; each tool holds its own copy, so one tool's changes stay its own."""

    async def get_thing(ctx: ToolContext, args: _Args) -> str:
        """Get the thing of a device."""
        return args.device

    first = model_tool(source="src", name="get-thing", args_model=_Args, handler=get_thing)
    second = model_tool(source="src", name="get-other-thing", args_model=_Args, handler=get_thing)
    assert first.input_schema == second.input_schema == _Args.model_json_schema()
    first.input_schema["properties"]["device"]["title"] = "changed"
    assert second.input_schema == _Args.model_json_schema()
    third = model_tool(source="src", name="get-third-thing", args_model=_Args, handler=get_thing)
    assert third.input_schema == _Args.model_json_schema()
