"""Which tools a caller may see, with the effective mode of each (MCP, CLI, assistant listings).

A tool is visible when the caller's role reaches the tool's ``min_role`` and its policy in the
caller's organisation is not ``never``. Listing is not permission: the gate still decides each call.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller
from hub.core.registry import Tool, ToolRegistry
from policies.models import PolicyMode, ToolPolicy
from policies.service import policies_for


@dataclass(frozen=True)
class VisibleTool:
    """A tool the caller may see and the policy that will apply to their calls."""

    tool: Tool
    policy: ToolPolicy

    @property
    def mode(self) -> PolicyMode:
        """The effective mode (``auto`` or ``approval``; ``never`` tools are not visible)."""
        return self.policy.mode


async def visible_tools(session: AsyncSession, registry: ToolRegistry, caller: Caller) -> list[VisibleTool]:
    """The tools ``caller`` may see (role reached, policy not ``never``), sorted by id."""
    tools = [t for t in registry.visible(caller.org_id) if caller.can(t.min_role)]
    policies = await policies_for(session, caller.org_id, tools)
    return [VisibleTool(t, policies[t.id]) for t in tools if policies[t.id].mode is not PolicyMode.NEVER]
