"""Which tools a caller may be offered, each with its effective mode: the one listing the assistant and MCP share.

A tool is offered when the caller's role reaches the tool's ``min_role`` and its effective policy in the
caller's organisation is not ``never``. Hiding is a courtesy to the model and the client; the gate still
refuses a ``never`` or out-of-role call that arrives anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller
from hub.core.registry import Tool, ToolRegistry
from policies.models import PolicyMode
from policies.service import policies_for


@dataclass(frozen=True)
class OfferedTool:
    """A tool the caller may call, with the mode the gate will apply and why."""

    tool: Tool
    mode: PolicyMode
    reason: str

    @property
    def name(self) -> str:
        """The LLM-facing name."""
        return self.tool.name


async def tools_offered_to(
    session: AsyncSession, registry: ToolRegistry, caller: Caller, *, include_hidden: bool = False
) -> list[OfferedTool]:
    """The tools ``caller`` may see (role allows it, policy is not ``never``), sorted by id, with their mode.

    ``include_hidden=True`` also returns the ``never`` and out-of-role tools (for pages that explain
    what is hidden); the assistant and MCP never pass it.
    """
    tools = registry.visible(caller.org_id)
    policies = await policies_for(session, caller.org_id, tools)
    offered: list[OfferedTool] = []
    for tool in tools:
        policy = policies[tool.id]
        if not include_hidden and (policy.mode is PolicyMode.NEVER or not caller.can(tool.min_role)):
            continue
        offered.append(OfferedTool(tool=tool, mode=policy.mode, reason=policy.reason))
    return offered
