"""Bulk command tools: one command or patch install on many devices, as one gate invocation.

``rmm-bulk-run-command`` and ``rmm-bulk-install-patches`` take a
:class:`~native_rmm.devices.targets.Targets` (device ids, a tag, a saved group, a site or a
customer; at most :data:`~native_rmm.devices.targets.MAX_TARGETS` devices), so one approval covers
every device and one result lists a command per device (each followed on the live stream like any
other command). Everything is checked before anything is queued: all devices or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import DEFAULT_TIMEOUT_SECONDS, MAX_SCRIPT_BYTES, MAX_TIMEOUT_SECONDS, CommandKind, OsFamily, Shell
from hub.core.describe import Description
from hub.core.errors import ToolError
from hub.core.registry import Tool, ToolContext, model_tool
from native_rmm.commands import service
from native_rmm.commands.describe import on_devices
from native_rmm.commands.schemas import CommandOut
from native_rmm.commands.tools import DEFAULT_SHELLS, ON_DEVICE, PATCH_TIMEOUT_SECONDS
from native_rmm.devices.targets import MAX_TARGETS, TargetDevice, Targets, resolve_targets
from native_rmm.models.commands import Command

SOURCE = "native_rmm"
_WINDOWS_ONLY = {Shell.POWERSHELL, Shell.CMD}


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BulkCommandArgs(_Args):
    targets: Targets = Field(
        description=f"the devices (ids, a tag, a saved group, a site or a customer; ≤{MAX_TARGETS})"
    )
    command: str = Field(min_length=1, max_length=MAX_SCRIPT_BYTES, description="the command line to run on each")
    shell: Shell | None = Field(default=None, description="default: each device's own (powershell / bash / zsh)")
    timeout_seconds: int = Field(default=DEFAULT_TIMEOUT_SECONDS, ge=1, le=MAX_TIMEOUT_SECONDS)


class BulkPatchArgs(_Args):
    targets: Targets = Field(
        description=f"the devices (ids, a tag, a saved group, a site or a customer; ≤{MAX_TARGETS})"
    )
    patch_ids: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default=[], max_length=512, description="KB numbers / package names; empty installs every pending patch"
    )


class BulkTarget(BaseModel):
    """A device of a bulk action and the command queued for it."""

    device_id: int
    label: str
    customer: str
    site: str
    command: CommandOut


class BulkResult(BaseModel):
    """One command per device."""

    count: int
    targets: list[BulkTarget]


def _shell(device: TargetDevice, shell: Shell | None) -> Shell:
    if shell is None:
        return DEFAULT_SHELLS.get(device.os_family, Shell.BASH) if device.os_family else Shell.BASH
    if shell in _WINDOWS_ONLY and device.os_family not in (None, OsFamily.WINDOWS):
        raise ToolError(f"{device.label} runs {device.os_family.value}; {shell.value} runs on Windows only")
    return shell


async def _queue(ctx: ToolContext, devices: list[TargetDevice], **spec: object) -> BulkResult:
    out = []
    for device in devices:
        command = await service.enqueue(
            ctx.session, org_id=ctx.org_id, device_id=device.id, created_by=ctx.caller, approval_id=ctx.approval_id,
            bus=ctx.bus, **spec,  # type: ignore[arg-type]
        )  # fmt: skip
        out.append(BulkTarget(device_id=device.id, label=device.label, customer=device.customer, site=device.site,
                              command=CommandOut.of(command, max_chars=2000)))  # fmt: skip
    return BulkResult(count=len(out), targets=out)


async def bulk_run_command_tool(ctx: ToolContext, args: BulkCommandArgs) -> BulkResult:
    """Run one shell command on many devices (ids, a tag, a group, a site or a customer); one command each."""
    devices = await resolve_targets(ctx.session, org_id=ctx.org_id, targets=args.targets)
    shells = {d.id: _shell(d, args.shell) for d in devices}  # every device checked before any is queued
    out = []
    for device in devices:
        queued = await _queue(ctx, [device], kind=CommandKind.SHELL, shell=shells[device.id], body=args.command,
                              env=None, timeout=args.timeout_seconds)  # fmt: skip
        out.extend(queued.targets)
    return BulkResult(count=len(out), targets=out)


async def bulk_install_patches_tool(ctx: ToolContext, args: BulkPatchArgs) -> BulkResult:
    """Install pending OS patches (all, or the listed ones) on many devices through their package managers."""
    devices = await resolve_targets(ctx.session, org_id=ctx.org_id, targets=args.targets)
    return await _queue(ctx, devices, kind=CommandKind.INSTALL_PATCHES, shell=None, body="", env=None,
                        timeout=PATCH_TIMEOUT_SECONDS, patch_ids=args.patch_ids)  # fmt: skip


async def _target_ids(ctx: ToolContext, targets: Targets) -> list[int]:
    return [d.id for d in await resolve_targets(ctx.session, org_id=ctx.org_id, targets=targets)]


async def describe_bulk_command(ctx: ToolContext, args: BulkCommandArgs) -> Description:
    """``Run `uname -a` on 3 devices as root`` with the command line and every target by name."""
    what = f"Run `{args.command[:200]}`" + (f" in {args.shell.value}" if args.shell else "")
    ids = await _target_ids(ctx, args.targets)
    return await on_devices(ctx.session, org_id=ctx.org_id, device_ids=ids, what=what, body=args.command,
                            body_label="Command line")  # fmt: skip


async def describe_bulk_patches(ctx: ToolContext, args: BulkPatchArgs) -> Description:
    """``Install 2 patches on 3 devices as root`` (or every pending patch) with every target by name."""
    what = f"Install {len(args.patch_ids)} patches ({', '.join(args.patch_ids[:20])})" if args.patch_ids else (
        "Install every pending patch")  # fmt: skip
    ids = await _target_ids(ctx, args.targets)
    return await on_devices(ctx.session, org_id=ctx.org_id, device_ids=ids, what=what)


def bulk_tools() -> list[Tool]:
    """The bulk command tools (seeded like their one-device forms: they run on endpoints)."""
    return [
        model_tool(source=SOURCE, name="rmm-bulk-run-command", args_model=BulkCommandArgs,
                   handler=bulk_run_command_tool, describe=describe_bulk_command, annotations=ON_DEVICE, title="Run command on many devices",
                   category="commands"),
        model_tool(source=SOURCE, name="rmm-bulk-install-patches", args_model=BulkPatchArgs,
                   handler=bulk_install_patches_tool, describe=describe_bulk_patches, annotations=ON_DEVICE, title="Install patches on many devices",
                   category="patches"),
    ]  # fmt: skip


async def commands_by_id(session: AsyncSession, *, org_id: int, command_ids: Sequence[int]) -> list[Command]:
    """The organisation's commands with these ids, in the order given (one statement; for result pages)."""
    if not command_ids:
        return []
    stmt = select(Command).where(Command.org_id == org_id, Command.id.in_(list(command_ids)))
    found = {c.id: c for c in (await session.execute(stmt)).scalars()}
    return [found[i] for i in command_ids if i in found]
