"""Remote-session tools: open a shell or screen session on a device (policy, approval and audit apply).

The tool mints two single-use tickets for the same new session: the agent's goes to the device
inside a ``remote_session`` command, the technician's comes back to the caller, who opens the
Remote Connection window with it. Both name the relay node to dial.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agent.protocol import CommandKind
from hub.core.errors import ToolError
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from hub.core.tickets import SessionKind, TicketRole, TransferDirection, mint, mint_grant, new_session_id
from native_rmm.commands import service
from native_rmm.commands.tools import SOURCE, DeviceArgs
from native_rmm.devices.service import resolve_device
from native_rmm.models.remote import ConsentScope, RemoteSessionStatus
from native_rmm.remote import queries
from native_rmm.remote import service as records
from native_rmm.remote.quick_support import quick_support_tools

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
    command_id: int | None
    note: str = ""


DEMO_NOTE = "demo device: no relay was dialled and the session was marked ended (demo devices have no agent)"


async def _open(ctx: ToolContext, args: DeviceArgs, kind: SessionKind) -> RemoteSessionOut:
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    sid = new_session_id()
    relay_url = ctx.settings.relay_public_url
    secret = ctx.settings.secret
    user = ctx.caller.label[:150]
    consent = await records.consent_required(ctx.session, org_id=ctx.org_id, device=device)
    row = await records.create_session(
        ctx.session, sid=sid, org_id=ctx.org_id, device=device, kind=kind, caller=ctx.caller, relay_url=relay_url,
        command_id=None, consent=consent,
    )  # fmt: skip
    if device.is_demo:
        records.end_demo(row, DEMO_NOTE)
        return RemoteSessionOut(
            session=sid, kind=kind, device_id=device.id, relay_url=relay_url, ticket="", command_id=None, note=DEMO_NOTE
        )
    agent_ticket = mint(
        secret,
        session=sid,
        role=TicketRole.AGENT,
        kind=kind,
        relay=relay_url,
        user=user,
        consent=consent,
        ttl_seconds=AGENT_TICKET_SECONDS,
    )
    command = await service.enqueue(
        ctx.session, org_id=ctx.org_id, device_id=device.id, kind=CommandKind.REMOTE_SESSION, shell=None,
        body=agent_ticket, env=None, timeout=REMOTE_COMMAND_TIMEOUT_SECONDS, created_by=ctx.caller,
        approval_id=ctx.approval_id, bus=ctx.bus,
    )  # fmt: skip
    row.command_id = command.id
    ticket = mint(
        secret, session=sid, role=TicketRole.CONTROLLER, kind=kind, relay=relay_url, user=user,
        ttl_seconds=VIEWER_TICKET_SECONDS,
    )  # fmt: skip
    return RemoteSessionOut(
        session=sid, kind=kind, device_id=device.id, relay_url=relay_url, ticket=ticket, command_id=command.id
    )


async def open_shell_session_tool(ctx: ToolContext, args: DeviceArgs) -> RemoteSessionOut:
    """Open a remote shell (a terminal on the device's PTY) and return the ticket to join it."""
    return await _open(ctx, args, SessionKind.SHELL)


async def open_screen_session_tool(ctx: ToolContext, args: DeviceArgs) -> RemoteSessionOut:
    """Open a remote screen session (the device's local VNC server) and return the ticket to join it."""
    return await _open(ctx, args, SessionKind.SCREEN)


async def open_files_session_tool(ctx: ToolContext, args: DeviceArgs) -> RemoteSessionOut:
    """Open a file session (browse, download and upload files on the device) and return the ticket to join it."""
    return await _open(ctx, args, SessionKind.FILES)


class JoinArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="the session id")
    view_only: bool = Field(default=False, description="join as a viewer whose input the relay drops")


async def join_session_tool(ctx: ToolContext, args: JoinArgs) -> RemoteSessionOut:
    """Join a live remote session (up to four technicians share one); returns the ticket for the window."""
    row = await queries.get_by_sid(ctx.session, org_id=ctx.org_id, sid=args.session)
    if row.status is RemoteSessionStatus.ENDED:
        raise ToolError(
            f"remote session {args.session} has ended ({row.end_reason or 'no reason given'}); open a new one"
        )
    role = TicketRole.VIEWER if args.view_only else TicketRole.CONTROLLER
    ticket = mint(
        ctx.settings.secret, session=row.sid, role=role, kind=SessionKind(row.kind), relay=row.relay_url,
        user=ctx.caller.label[:150], ttl_seconds=VIEWER_TICKET_SECONDS,
    )  # fmt: skip
    return RemoteSessionOut(
        session=row.sid, kind=SessionKind(row.kind), device_id=row.device_id, relay_url=row.relay_url, ticket=ticket,
        command_id=row.command_id,
    )  # fmt: skip


class TransferArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="a live files session")
    direction: TransferDirection = Field(description="download (device to browser) or upload (browser to device)")
    path: str = Field(min_length=1, max_length=4096, description="the file (download) or folder (upload) on the device")


class TransferOut(BaseModel):
    """The relay lets exactly this transfer through once, within two minutes."""

    session: str
    direction: TransferDirection
    path: str
    grant: str


async def transfer_file_tool(ctx: ToolContext, args: TransferArgs) -> TransferOut:
    """Allow one file transfer in a live files session (the relay refuses transfers without it); audited."""
    row = await queries.get_by_sid(ctx.session, org_id=ctx.org_id, sid=args.session)
    if row.kind != SessionKind.FILES.value:
        raise ToolError(f"remote session {args.session} is a {row.kind} session; files move in a files session")
    if row.status is RemoteSessionStatus.ENDED:
        raise ToolError(f"remote session {args.session} has ended; open a new files session")
    grant = mint_grant(ctx.settings.secret, session=row.sid, direction=args.direction, path=args.path)
    return TransferOut(session=row.sid, direction=args.direction, path=args.path, grant=grant)


class ConsentArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: ConsentScope = Field(description="customer, site or device")
    scope_id: int = Field(ge=1, le=2**31 - 1, description="the customer's, site's or device's id")
    required: bool | None = Field(description="true: the end user must accept; false: no prompt; null: inherit")


class ConsentOut(BaseModel):
    scope: ConsentScope
    scope_id: int
    required: bool | None


async def set_remote_consent_tool(ctx: ToolContext, args: ConsentArgs) -> ConsentOut:
    """Set privacy mode for a customer, site or device: whether the end user must accept each remote connection."""
    await records.set_consent_rule(
        ctx.session, org_id=ctx.org_id, scope=args.scope, scope_id=args.scope_id, required=args.required,
        actor=ctx.caller.actor,
    )  # fmt: skip
    return ConsentOut(scope=args.scope, scope_id=args.scope_id, required=args.required)


def remote_tools() -> list[Tool]:
    """The remote-session tools."""
    return [
        *quick_support_tools(),
        model_tool(source=SOURCE, name="rmm-open-shell-session", args_model=DeviceArgs,
                   handler=open_shell_session_tool, annotations=ON_DEVICE, title="Open remote shell",
                   category="remote"),
        model_tool(source=SOURCE, name="rmm-open-screen-session", args_model=DeviceArgs,
                   handler=open_screen_session_tool, annotations=ON_DEVICE, title="Open remote screen",
                   category="remote"),
        model_tool(source=SOURCE, name="rmm-join-remote-session", args_model=JoinArgs,
                   handler=join_session_tool, annotations=ON_DEVICE, title="Join remote session",
                   category="remote"),
        model_tool(source=SOURCE, name="rmm-transfer-file", args_model=TransferArgs,
                   handler=transfer_file_tool, annotations=ON_DEVICE, title="Transfer file",
                   category="remote"),
        model_tool(source=SOURCE, name="rmm-set-remote-consent", args_model=ConsentArgs,
                   handler=set_remote_consent_tool, min_role=Role.ADMIN, title="Set remote consent (privacy mode)",
                   category="remote",
                   annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False)),
        model_tool(source=SOURCE, name="rmm-open-files-session", args_model=DeviceArgs,
                   handler=open_files_session_tool, annotations=ON_DEVICE, title="Open remote files",
                   category="remote"),
    ]  # fmt: skip
