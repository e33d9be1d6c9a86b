"""Remote-session tools: open a shell or screen session on a device (policy, approval and audit apply).

The tool mints two single-use tickets for the same new session: the agent's goes to the device
inside a ``remote_session`` command, the technician's comes back to the caller, who opens the
Remote Connection window with it. Both name the relay node to dial.
"""

from __future__ import annotations

from pydantic import BaseModel

from agent.protocol import CommandKind
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.tickets import SessionKind, TicketRole, mint, new_session_id
from native_rmm.commands import service
from native_rmm.commands.tools import SOURCE, DeviceArgs
from native_rmm.devices.service import resolve_device

AGENT_TICKET_SECONDS = 120
VIEWER_TICKET_SECONDS = 120
REMOTE_COMMAND_TIMEOUT_SECONDS = 120
ON_DEVICE = ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True)


class RemoteSessionOut(BaseModel):
    """A session the device was asked to join; ``ticket`` lets the caller's browser join it once."""

    session: str
    kind: SessionKind
    device_id: int
    relay_url: str
    ticket: str
    command_id: int


async def _open(ctx: ToolContext, args: DeviceArgs, kind: SessionKind) -> RemoteSessionOut:
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    sid = new_session_id()
    relay_url = ctx.settings.relay_public_url
    secret = ctx.settings.secret
    user = ctx.caller.label[:150]
    agent_ticket = mint(
        secret,
        session=sid,
        role=TicketRole.AGENT,
        kind=kind,
        relay=relay_url,
        user=user,
        ttl_seconds=AGENT_TICKET_SECONDS,
    )
    command = await service.enqueue(
        ctx.session,
        org_id=ctx.org_id,
        device_id=device.id,
        kind=CommandKind.REMOTE_SESSION,
        shell=None,
        body=agent_ticket,
        env=None,
        timeout=REMOTE_COMMAND_TIMEOUT_SECONDS,
        created_by=ctx.caller,
        approval_id=ctx.approval_id,
        bus=ctx.bus,
    )
    ticket = mint(
        secret,
        session=sid,
        role=TicketRole.CONTROLLER,
        kind=kind,
        relay=relay_url,
        user=user,
        ttl_seconds=VIEWER_TICKET_SECONDS,
    )
    return RemoteSessionOut(
        session=sid, kind=kind, device_id=device.id, relay_url=relay_url, ticket=ticket, command_id=command.id
    )


async def open_shell_session_tool(ctx: ToolContext, args: DeviceArgs) -> RemoteSessionOut:
    """Open a remote shell (a terminal on the device's PTY) and return the ticket to join it."""
    return await _open(ctx, args, SessionKind.SHELL)


async def open_screen_session_tool(ctx: ToolContext, args: DeviceArgs) -> RemoteSessionOut:
    """Open a remote screen session (the device's local VNC server) and return the ticket to join it."""
    return await _open(ctx, args, SessionKind.SCREEN)


def remote_tools() -> list[Tool]:
    """The remote-session tools."""
    return [
        model_tool(
            source=SOURCE,
            name="rmm-open-shell-session",
            args_model=DeviceArgs,
            handler=open_shell_session_tool,
            annotations=ON_DEVICE,
            title="Open remote shell",
            category="remote",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-open-screen-session",
            args_model=DeviceArgs,
            handler=open_screen_session_tool,
            annotations=ON_DEVICE,
            title="Open remote screen",
            category="remote",
        ),
    ]
