"""The Quick-support tab's tool: a temporary session for a one-off call, as a one-use installer.

The technician reads the one-shot command to the end user, whose machine then joins as a
quick-support agent (no sudo, removed when the session ends) and appears in the tab; the
technician joins it in the Remote Connection window like any device.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from hub.core.db import utcnow
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from native_rmm.commands.tools import SOURCE
from native_rmm.installers import service as installers

DEFAULT_HOURS = 4


class QuickSupportArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=120, description="who or what the call is about (shown in the tab)")
    expires_in_hours: int = Field(default=DEFAULT_HOURS, ge=1, le=72, description="how long the command works")


class QuickSupportOut(BaseModel):
    """The one-shot command per OS (single use, expiring)."""

    installer_id: int
    name: str
    expires_at: datetime
    token: str
    commands: dict[str, str]


async def create_quick_support_tool(ctx: ToolContext, args: QuickSupportArgs) -> QuickSupportOut:
    """Create a temporary quick-support session: a one-use installer whose command the end user runs once."""
    name = args.name.strip() or f"Quick-support by {ctx.caller.label}"
    installer = await installers.create_installer(
        ctx.session, org_id=ctx.org_id, name=name[:200], actor=ctx.caller.actor, max_uses=1, quick_support=True,
        expires_at=utcnow() + timedelta(hours=args.expires_in_hours),
    )  # fmt: skip
    token = installers.installer_token(ctx.session, installer)
    commands = installers.install_commands(ctx.settings.base_url, token, quick_support=True)
    assert installer.expires_at is not None
    return QuickSupportOut(
        installer_id=installer.id, name=installer.name, expires_at=installer.expires_at, token=token,
        commands=dict(commands),
    )  # fmt: skip


def quick_support_tools() -> list[Tool]:
    """The quick-support tool."""
    return [
        model_tool(source=SOURCE, name="rmm-create-quick-support-session", args_model=QuickSupportArgs,
                   handler=create_quick_support_tool, title="Create quick-support session", category="remote",
                   annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=False)),
    ]  # fmt: skip
