"""``rmm-install-rustdesk``: add RustDesk to an already-enrolled device (its installer did not opt in, or
to redo it).

A new random permanent password is stored encrypted (:func:`native_rmm.devices.rustdesk.set_new_password`)
and an ``install_rustdesk`` command is queued whose body holds the servers and the client packages but
not the password; the agent fetches that from ``/agent/v1/rustdesk/setup`` while the command runs
(only that device, only while the command is open), installs and configures RustDesk as it does at
enrollment (:mod:`agent.rustdesk`) and reports the ID in the result and its next check-in (the
device header's panel). The tool's arguments, result, command and audit entry never hold the password.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.protocol import CommandKind
from hub.core.describe import Description
from hub.core.errors import ToolError
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from native_rmm.commands import service as commands
from native_rmm.commands.describe import on_device
from native_rmm.devices import rustdesk
from native_rmm.devices.service import resolve_device
from native_rmm.devices.tools import DeviceRef
from native_rmm.installers.service import RustDeskOption
from native_rmm.models.installers import Installer
from native_rmm.settings import RmmSettings

SOURCE = "native_rmm"
_SERVER = r"^[A-Za-z0-9.:\[\]_-]{0,255}$"  # as an installer's RustDesk option (host or host:port)
_KEY = r"^[A-Za-z0-9+/=_-]{0,255}$"
INSTALL_TIMEOUT_SECONDS = 1800  # a download and a package install on a slow line


class InstallRustDeskArgs(BaseModel):
    """The MSP's RustDesk servers (empty: those of the installer the device enrolled with, else
    RustDesk's public servers)."""

    model_config = ConfigDict(extra="forbid")

    device: DeviceRef
    id_server: str = Field(default="", pattern=_SERVER, description="host or host:port of the ID server")
    relay_server: str = Field(default="", pattern=_SERVER, description="host or host:port of the relay server")
    key: str = Field(default="", pattern=_KEY, description="the server's public key (base64, id_ed25519.pub)")

    @model_validator(mode="after")
    def _servers(self) -> InstallRustDeskArgs:
        try:  # refused before any approval is asked for
            RustDeskOption(True, self.id_server, self.relay_server, self.key).checked()
        except ToolError as exc:
            raise ValueError(exc.message) from exc
        return self


class RustDeskInstallQueued(BaseModel):
    """The queued ``install_rustdesk`` command; the ID appears in its result and the device's RustDesk panel."""

    device_id: int
    hostname: str
    command_id: int
    id_server: str
    replaced_password: bool


async def describe_install(ctx: ToolContext, args: InstallRustDeskArgs) -> Description:
    """``Install RustDesk (ID server rd.example.com) on vm (Contoso / Main office) as root``."""
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    servers = (
        f"ID server {args.id_server}" if args.id_server else "the installer's servers, else RustDesk's public ones"
    )
    return await on_device(ctx.session, device, f"Install RustDesk with a new permanent password ({servers})")


def _install_tool(settings: Callable[[], RmmSettings]) -> Tool:
    async def install_rustdesk_tool(ctx: ToolContext, args: InstallRustDeskArgs) -> RustDeskInstallQueued:
        """Install and configure RustDesk on an enrolled device, with a new random permanent password."""
        device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
        if device.uninstalled_at is not None or device.quick_support or device.is_demo:
            raise ToolError(f"{device.hostname} has no permanent agent to install RustDesk with")
        option = RustDeskOption(True, args.id_server, args.relay_server, args.key)
        if not (args.id_server or args.relay_server or args.key) and device.installer_id is not None:
            installer = await ctx.session.get(Installer, device.installer_id)
            if installer is not None and installer.rustdesk_enabled:
                option = RustDeskOption(
                    True, installer.rustdesk_id_server, installer.rustdesk_relay_server, installer.rustdesk_key
                )
        option = option.checked()
        _, replaced = await rustdesk.set_new_password(ctx.session, device)
        body = rustdesk.install_body(
            settings(), id_server=option.id_server, relay_server=option.relay_server, key=option.key
        )
        command = await commands.enqueue(
            ctx.session,
            org_id=ctx.org_id,
            device_id=device.id,
            kind=CommandKind.INSTALL_RUSTDESK,
            shell=None,
            body=body.model_dump_json(),
            env=None,
            timeout=INSTALL_TIMEOUT_SECONDS,
            created_by=ctx.caller,
            approval_id=ctx.approval_id,
            bus=ctx.bus,
        )
        return RustDeskInstallQueued(
            device_id=device.id,
            hostname=device.hostname,
            command_id=command.id,
            id_server=option.id_server,
            replaced_password=replaced,
        )

    return model_tool(
        source=SOURCE,
        name="rmm-install-rustdesk",
        args_model=InstallRustDeskArgs,
        handler=install_rustdesk_tool,
        describe=describe_install,
        title="Install RustDesk",
        category="devices",
        annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True),
    )


def rustdesk_install_tools(settings: Callable[[], RmmSettings]) -> list[Tool]:
    return [_install_tool(settings)]
