"""Command tools: run a command, read its result, cancel it, install patches, uninstall the agent, end a
quick-support session."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from agent.protocol import (
    DEFAULT_TIMEOUT_SECONDS,
    MAX_OUTPUT_BYTES,
    MAX_SCRIPT_BYTES,
    MAX_TIMEOUT_SECONDS,
    CommandKind,
    OsFamily,
    Shell,
)
from hub.core.bounds import Id
from hub.core.describe import Description
from hub.core.errors import ToolError
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.commands import service
from native_rmm.commands.describe import on_device
from native_rmm.commands.history import HISTORY_LIMIT, CommandHistoryRow, command_history
from native_rmm.commands.schemas import CommandOut
from native_rmm.devices.service import resolve_device
from native_rmm.models.devices import Device

SOURCE = "native_rmm"
DeviceRef = Annotated[Id | str, Field(description="the device id (e.g. 42) or its hostname (e.g. LON-DC-01)")]
DEFAULT_SHELLS = {OsFamily.WINDOWS: Shell.POWERSHELL, OsFamily.LINUX: Shell.BASH, OsFamily.MACOS: Shell.ZSH}
#: The shells offered per OS in the UI (no bash or zsh for Windows, no cmd or PowerShell elsewhere).
SHELLS_BY_OS: dict[OsFamily, list[Shell]] = {
    OsFamily.WINDOWS: [Shell.POWERSHELL, Shell.CMD, Shell.PYTHON],
    OsFamily.LINUX: [Shell.BASH, Shell.SH, Shell.ZSH, Shell.PYTHON],
    OsFamily.MACOS: [Shell.ZSH, Shell.BASH, Shell.SH, Shell.PYTHON],
}
ON_DEVICE = ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True)
UNINSTALL_TIMEOUT_SECONDS = 600
END_SESSION_TIMEOUT_SECONDS = 60
PATCH_TIMEOUT_SECONDS = 3600


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunCommandArgs(_Args):
    device: DeviceRef
    command: str = Field(min_length=1, max_length=MAX_SCRIPT_BYTES, description="the command line to run")
    shell: Shell | None = Field(default=None, description="default: powershell on Windows, bash on Linux, zsh on macOS")
    timeout_seconds: int = Field(default=DEFAULT_TIMEOUT_SECONDS, ge=1, le=MAX_TIMEOUT_SECONDS)


class CommandArgs(_Args):
    command_id: Id
    max_chars: int = Field(default=8000, ge=100, le=MAX_OUTPUT_BYTES, description="trim stdout/stderr to this")


class ListCommandsArgs(_Args):
    device: DeviceRef
    limit: int = Field(default=20, ge=1, le=HISTORY_LIMIT)
    max_chars: int = Field(default=4000, ge=100, le=MAX_OUTPUT_BYTES, description="trim stdout/stderr to this")


class CommandHistory(BaseModel):
    """Result of ``rmm-list-commands``."""

    count: int
    commands: list[CommandHistoryRow]


class CancelArgs(_Args):
    command_id: Id


class InstallPatchesArgs(_Args):
    device: DeviceRef
    patch_ids: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default=[], max_length=512, description="KB numbers / package names; empty installs every pending patch"
    )


class DeviceArgs(_Args):
    device: DeviceRef


def shells_for(device: Device) -> list[str]:
    """The shells the device's OS has; empty while its OS is not known (offer every shell then)."""
    return [s.value for s in SHELLS_BY_OS.get(device.os_family, [])] if device.os_family else []


def _shell_for(device: Device, shell: Shell | None) -> Shell:
    if shell is not None:
        return shell
    return DEFAULT_SHELLS.get(device.os_family, Shell.BASH) if device.os_family else Shell.BASH


async def run_command_tool(ctx: ToolContext, args: RunCommandArgs) -> CommandOut:
    """Run a shell command on a device; it is pushed to the agent at once. Returns the queued command."""
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    command = await service.enqueue(
        ctx.session, org_id=ctx.org_id, device_id=device.id, kind=CommandKind.SHELL,
        shell=_shell_for(device, args.shell), body=args.command, env=None, timeout=args.timeout_seconds,
        created_by=ctx.caller, approval_id=ctx.approval_id, bus=ctx.bus,
    )  # fmt: skip
    return CommandOut.of(command)


async def describe_run_command(ctx: ToolContext, args: RunCommandArgs) -> Description:
    """``Run `uname -a` on vm (Contoso / Main office) as root`` (with the shell and the full command line)."""
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    shell = _shell_for(device, args.shell).value
    first = args.command.strip().splitlines()[0] if args.command.strip() else args.command
    shown = first if len(first) <= 120 else first[:117] + "…"
    return await on_device(
        ctx.session, device, f"Run `{shown}` ({shell})", body=args.command, body_label=f"Command ({shell})"
    )


async def describe_install_patches(ctx: ToolContext, args: InstallPatchesArgs) -> Description:
    """``Install patches KB1, KB2 on vm (Contoso / Main office) as SYSTEM``."""
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    what = "Install patches " + ", ".join(args.patch_ids) if args.patch_ids else "Install every pending patch"
    return await on_device(ctx.session, device, what)


async def describe_uninstall(ctx: ToolContext, args: DeviceArgs) -> Description:
    """``Uninstall the agent from vm (...)``: the device stops being managed."""
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    return await on_device(ctx.session, device, "Uninstall the agent (the device stops being managed)")


async def get_command_result_tool(ctx: ToolContext, args: CommandArgs) -> CommandOut:
    """Get a command's status and, once finished, its exit code and output."""
    command = await service.get_command(ctx.session, org_id=ctx.org_id, command_id=args.command_id)
    return CommandOut.of(command, max_chars=args.max_chars)


async def list_commands_tool(ctx: ToolContext, args: ListCommandsArgs) -> CommandHistory:
    """List a device's command history (ad-hoc commands and script runs): who asked, who approved, exit code, output."""
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    rows = await command_history(ctx.session, org_id=ctx.org_id, device_id=device.id, limit=args.limit)
    cut = args.max_chars
    trimmed = [r.model_copy(update={"stdout": r.stdout[-cut:], "stderr": r.stderr[-cut:]}) for r in rows]
    return CommandHistory(count=len(trimmed), commands=trimmed)


async def cancel_command_tool(ctx: ToolContext, args: CancelArgs) -> CommandOut:
    """Cancel a command the agent has not picked up yet."""
    command = await service.cancel(ctx.session, org_id=ctx.org_id, command_id=args.command_id, by=ctx.caller.label,
                                   bus=ctx.bus)  # fmt: skip
    return CommandOut.of(command)


async def install_patches_tool(ctx: ToolContext, args: InstallPatchesArgs) -> CommandOut:
    """Install pending OS patches on a device (all of them, or the listed ones) through its package manager."""
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    command = await service.enqueue(
        ctx.session, org_id=ctx.org_id, device_id=device.id, kind=CommandKind.INSTALL_PATCHES, shell=None, body="",
        env=None, timeout=PATCH_TIMEOUT_SECONDS, created_by=ctx.caller, approval_id=ctx.approval_id,
        patch_ids=args.patch_ids, bus=ctx.bus,
    )  # fmt: skip
    return CommandOut.of(command)


async def uninstall_agent_tool(ctx: ToolContext, args: DeviceArgs) -> CommandOut:
    """Uninstall the agent from a device: it removes its service and files and the device shows as uninstalled."""
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    command = await service.enqueue(
        ctx.session, org_id=ctx.org_id, device_id=device.id, kind=CommandKind.UNINSTALL_AGENT, shell=None, body="",
        env=None, timeout=UNINSTALL_TIMEOUT_SECONDS, created_by=ctx.caller, approval_id=ctx.approval_id, bus=ctx.bus,
    )  # fmt: skip
    return CommandOut.of(command)


async def end_quick_support_tool(ctx: ToolContext, args: DeviceArgs) -> CommandOut:
    """End a quick-support session: the temporary agent signs off from the hub, cleans up its folder and exits."""
    device = await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    if not device.quick_support:
        raise ToolError(
            f"device #{device.id} ({device.label}) is not a quick-support session; "
            "rmm-uninstall-agent removes an installed agent"
        )
    if device.uninstalled_at is not None:
        raise ToolError(f"the quick-support session of device #{device.id} ({device.label}) has already ended")
    command = await service.enqueue(
        ctx.session, org_id=ctx.org_id, device_id=device.id, kind=CommandKind.END_SESSION, shell=None, body="",
        env=None, timeout=END_SESSION_TIMEOUT_SECONDS, created_by=ctx.caller, approval_id=ctx.approval_id,
        bus=ctx.bus,
    )  # fmt: skip
    return CommandOut.of(command)


def command_tools() -> list[Tool]:
    """The command tools (policies seeded by the classifier from names and annotations)."""
    return [
        model_tool(source=SOURCE, name="rmm-run-command", args_model=RunCommandArgs, handler=run_command_tool,
                   describe=describe_run_command, annotations=ON_DEVICE, title="Run command", category="commands"),
        model_tool(source=SOURCE, name="rmm-get-command-result", args_model=CommandArgs,
                   handler=get_command_result_tool, min_role=Role.VIEWER, title="Command result", category="commands",
                   annotations=ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)),
        model_tool(source=SOURCE, name="rmm-list-commands", args_model=ListCommandsArgs, handler=list_commands_tool,
                   min_role=Role.VIEWER, title="Command history", category="commands",
                   annotations=ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)),
        model_tool(source=SOURCE, name="rmm-cancel-command", args_model=CancelArgs, handler=cancel_command_tool,
                   title="Cancel command", category="commands",
                   annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False)),
        model_tool(source=SOURCE, name="rmm-install-patches", args_model=InstallPatchesArgs,
                   handler=install_patches_tool, describe=describe_install_patches, annotations=ON_DEVICE, title="Install patches", category="patches"),
        model_tool(source=SOURCE, name="rmm-uninstall-agent", args_model=DeviceArgs, handler=uninstall_agent_tool,
                   describe=describe_uninstall,
                   annotations=ToolAnnotations(read_only=False, destructive=True, idempotent=True, open_world=True),
                   title="Uninstall agent", category="devices"),
        # Ending a temporary session the end user started is routine: seeded auto (idempotent, closed world).
        model_tool(source=SOURCE, name="rmm-end-quick-support", args_model=DeviceArgs, handler=end_quick_support_tool,
                   annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False),
                   title="End quick-support session", category="devices"),
    ]  # fmt: skip
