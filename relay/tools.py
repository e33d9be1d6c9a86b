"""Relay tools: end a live remote session (admins; policy, approval and audit apply as to any tool)."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from hub.core.errors import ToolError, ToolNotFoundError
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from relay.server import RelayServer

SOURCE = "native_rmm"


class EndSessionArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="the session id")
    reason: str = Field(default="", max_length=200, description="shown to everyone connected")


class EndSessionOut(BaseModel):
    session: str
    ended: bool
    reason: str


def relay_tools(server: Callable[[], RelayServer | None]) -> list[Tool]:
    """Tools acting on the embedded relay node (``server`` returns it while it runs)."""

    async def end_remote_session_tool(ctx: ToolContext, args: EndSessionArgs) -> EndSessionOut:
        """End a live remote session: the technician's window, the viewers and the device's bridge all close."""
        node = server()
        if node is None:
            raise ToolError("the relay is not running in this hub; end the session on its relay node")
        reason = f"ended by {ctx.caller.label}" + (f": {args.reason}" if args.reason else "")
        if not await node.end_session(args.session, reason):
            raise ToolNotFoundError(f"no live remote session {args.session} on this relay")
        return EndSessionOut(session=args.session, ended=True, reason=reason)

    return [
        model_tool(
            source=SOURCE,
            name="rmm-end-remote-session",
            args_model=EndSessionArgs,
            handler=end_remote_session_tool,
            min_role=Role.ADMIN,
            title="End remote session",
            category="remote",
            annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False),
        ),
    ]
