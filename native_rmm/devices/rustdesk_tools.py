"""RustDesk tools: the panel's read (any viewer: ID and link, never the password) and the admin-only reveal
(adding RustDesk to an enrolled device is a command: :mod:`native_rmm.commands.rustdesk_tools`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hub.core import audit
from hub.core.audit import AuditEvent
from hub.core.errors import NotFound
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.devices import rustdesk
from native_rmm.devices.service import resolve_device
from native_rmm.devices.tools import DeviceRef
from native_rmm.models.rustdesk import DeviceRustDesk

SOURCE = "native_rmm"


class RustDeskArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: DeviceRef


class RustDeskPassword(BaseModel):
    """The device's RustDesk ID, link and permanent password (the audit entry keeps it redacted)."""

    device_id: int
    hostname: str
    rustdesk_id: str | None
    link: str | None
    password: str


async def reveal_password_tool(ctx: ToolContext, args: RustDeskArgs) -> RustDeskPassword:
    """Show a device's RustDesk permanent password (admins only; every reveal is audited)."""
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    row = await ctx.session.get(DeviceRustDesk, device.id)
    if row is None or row.org_id != ctx.org_id:
        raise NotFound(f"device {device.hostname} was not enrolled with RustDesk (the installer did not opt in)")
    password = rustdesk.reveal(ctx.session, row)
    audit.record(
        ctx.session,
        event=AuditEvent.DEVICE_CHANGED,
        actor=ctx.caller.actor,
        org_id=ctx.org_id,
        outcome="rustdesk.password_revealed",
        detail={"device_id": device.id},
    )
    return RustDeskPassword(
        device_id=device.id,
        hostname=device.hostname,
        rustdesk_id=row.rustdesk_id,
        link=rustdesk.RustDeskPanel(row.rustdesk_id, None, None).link,
        password=password,
    )


def rustdesk_tools() -> list[Tool]:
    return [
        model_tool(
            source=SOURCE,
            name="rmm-reveal-rustdesk-password",
            args_model=RustDeskArgs,
            handler=reveal_password_tool,
            min_role=Role.ADMIN,
            title="Reveal RustDesk password",
            category="devices",
            annotations=ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False),
        ),
    ]
