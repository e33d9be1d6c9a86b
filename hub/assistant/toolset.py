"""The assistant's tools: the registry's tools offered to the chatting user, each call through the gate.

One pydantic-ai :class:`~pydantic_ai.toolsets.FunctionToolset` per (registry version, organisation,
role, effective modes), cached so an unchanged registry hands the model the very same object (no
re-rendered tool list). ``never`` and out-of-role tools are not in it (:func:`policies.offered.tools_offered_to`);
a call to them is an unknown tool to pydantic-ai and a refusal at the gate. Arguments are checked
against the tool's JSON schema *before* anything runs: a mismatch is a :class:`ModelRetry`
(``Tool.from_schema`` alone would not validate). What a call does is :class:`hub.assistant.calls.ToolCaller`'s job.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic_ai import ModelRetry, RunContext, Tool
from pydantic_ai.toolsets import FunctionToolset

from hub.core.errors import ToolArgumentError
from hub.core.registry import Tool as RegistryTool
from policies.offered import OfferedTool

if TYPE_CHECKING:
    from hub.assistant.calls import ToolCaller

CACHE_SIZE = 64
ARG_RETRIES = 2

CacheKey = tuple[int, int, str, tuple[tuple[str, str], ...]]


def _pai_tool(offered: OfferedTool) -> Tool[ToolCaller]:
    tool = offered.tool

    async def run(ctx: RunContext[ToolCaller], **args: Any) -> Any:
        return await ctx.deps.call(ctx, tool, args)

    async def validate(ctx: RunContext[ToolCaller], **args: Any) -> None:
        check_args(tool, args)

    pai = Tool.from_schema(
        run, name=tool.name, description=tool.description, json_schema=tool.input_schema, takes_ctx=True,
        args_validator=validate,
    )  # fmt: skip
    pai.max_retries = ARG_RETRIES
    pai.metadata = {"tool_id": tool.id, "policy": offered.mode.value}
    return pai


def check_args(tool: RegistryTool, args: dict[str, Any]) -> None:
    """Validate ``args`` against ``tool``'s schema; a mismatch goes back to the model as a retry.

    Raises:
        ModelRetry: naming the offending field and what is wrong with it.
    """
    try:
        tool.validate_args(args)
    except ToolArgumentError as exc:
        raise ModelRetry(f"invalid arguments for {tool.name} at {exc.path}: {exc.problem}; nothing ran") from exc


class ToolsetCache:
    """Built toolsets by (registry version, org, role, modes); the same object while nothing changed."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._built: OrderedDict[CacheKey, FunctionToolset[ToolCaller]] = OrderedDict()
        self.builds = 0

    def get(
        self, *, version: int, org_id: int, role: str, offered: Sequence[OfferedTool]
    ) -> FunctionToolset[ToolCaller]:
        """The toolset of these offered tools (built on first sight of the key)."""
        key: CacheKey = (version, org_id, role, tuple((o.tool.id, o.mode.value) for o in offered))
        found = self._built.get(key)
        if found is not None:
            self._built.move_to_end(key)
            return found
        toolset: FunctionToolset[ToolCaller] = FunctionToolset(id="rmmhub-gated")
        seen: set[str] = set()
        for one in offered:
            if one.name in seen:  # the same LLM name from two sources: the first (by id) is offered
                continue
            seen.add(one.name)
            toolset.add_tool(_pai_tool(one))
        self.builds += 1
        self._built[key] = toolset
        while len(self._built) > self._size:
            self._built.popitem(last=False)
        return toolset
