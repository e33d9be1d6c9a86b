"""``rmm-update-agents``: queue a signed self-update for one device, a customer, a site, or every device.

Linux agents update themselves: the single-file agent from the single-file release, a virtualenv
agent from the wheel release of the same version (the command carries both). Windows and macOS
agents (the uv-provisioned virtualenv) get the wheel release alone. Each verifies SHA-256 and the
hub's signature, swaps, restarts through its service manager (systemd, launchd, the scheduled
task) and rolls back if the new version stays silent. Other agents are skipped with the reason. Like every action this runs through the policy gate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from agent.protocol import CommandKind, OsFamily, UpdateManifest
from hub.core.errors import ToolError
from hub.core.models import Site
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from native_rmm.commands import service as commands
from native_rmm.devices.agent_versions import version_key
from native_rmm.devices.service import resolve_device
from native_rmm.devices.tools import DeviceRef
from native_rmm.installers.binary import machine_arch
from native_rmm.models.devices import Device
from native_rmm.updates.releases import WHEEL_PLATFORM, Release, current_release
from native_rmm.updates.signing import UpdateSigner

SOURCE = "native_rmm"
UPDATE_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class UpdateConfig:
    """Where releases are and how long a new version has to check in (read at call time)."""

    dist_dir: Path
    confirm_within_seconds: int


class UpdateAgentsArgs(BaseModel):
    """Exactly one of ``device``, ``customer_id``, ``site_id`` or ``all``."""

    model_config = ConfigDict(extra="forbid")

    device: DeviceRef | None = None
    customer_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    site_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    all: bool = Field(default=False, description="every device of the organisation")

    @model_validator(mode="after")
    def _one_target(self) -> UpdateAgentsArgs:
        chosen = [self.device is not None, self.customer_id is not None, self.site_id is not None, self.all]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of device, customer_id, site_id or all=true")
        return self


class QueuedUpdate(BaseModel):
    device_id: int
    hostname: str
    from_version: str
    command_id: int


class SkippedDevice(BaseModel):
    device_id: int
    hostname: str
    reason: str


class UpdateAgentsOut(BaseModel):
    """What was queued (one ``update_agent`` command per device) and what was skipped, with why."""

    version: str | None
    queued: list[QueuedUpdate]
    skipped: list[SkippedDevice]


def platform_of(device: Device) -> str | None:
    """The release platform of a device's agent: Linux takes the single-file agent of the hub's arch
    (its virtualenv fallback reads the wheel the manifest carries); Windows and macOS agents run the
    wheel in their uv-provisioned environment."""
    if device.os_family is OsFamily.LINUX:
        return f"linux-{machine_arch()}"
    if device.os_family in (OsFamily.WINDOWS, OsFamily.MACOS):
        return WHEEL_PLATFORM
    return None


async def _targets(ctx: ToolContext, args: UpdateAgentsArgs) -> list[Device]:
    if args.device is not None:
        return [await resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)]
    stmt = select(Device).where(Device.org_id == ctx.org_id, Device.uninstalled_at.is_(None)).order_by(Device.id)
    if args.site_id is not None:
        stmt = stmt.where(Device.site_id == args.site_id)
    if args.customer_id is not None:
        stmt = stmt.where(Device.site_id.in_(select(Site.id).where(Site.customer_id == args.customer_id)))
    return list((await ctx.session.execute(stmt)).scalars())


@dataclass(frozen=True)
class Offer:
    """The newest version the hub offers, as a single-file agent and/or a wheel."""

    version: str
    binary: Release | None
    wheel: Release | None

    def manifest(self, signer: UpdateSigner, confirm_within_seconds: int) -> UpdateManifest:
        wheel = self.wheel.manifest(signer, confirm_within_seconds=confirm_within_seconds) if self.wheel else None
        if self.binary is None:
            assert wheel is not None
            return wheel
        binary = self.binary.manifest(signer, confirm_within_seconds=confirm_within_seconds)
        return binary.model_copy(update={"wheel": wheel})


def current_offer(dist_dir: Path) -> Offer | None:
    """What ``rmm-update-agents`` offers: the newest version among single-file and wheel releases."""
    binary = current_release(dist_dir, f"linux-{machine_arch()}")
    wheel = current_release(dist_dir, WHEEL_PLATFORM)
    found = [r for r in (binary, wheel) if r is not None]
    if not found:
        return None
    version = max((r.version for r in found), key=version_key)
    return Offer(
        version,
        binary if binary and binary.version == version else None,
        wheel if wheel and wheel.version == version else None,
    )


def _skip_reason(device: Device, release: Offer | None) -> str | None:
    if device.uninstalled_at is not None:
        return "no agent any more"
    if device.quick_support or device.is_demo:
        return "quick-support and demo devices are not updated"
    platform = platform_of(device)
    if platform is None:
        return "this agent's OS does not update itself; re-run the installer on it"
    if release is None:
        return "this hub has no agent release (run `rmmhub agent stage`, or `rmmhub agent publish`)"
    if platform == WHEEL_PLATFORM and release.wheel is None:
        return (
            f"version {release.version} is published only as a Linux single-file agent; "
            "Windows and macOS agents need the wheel (rmmhub agent publish --wheel)"
        )
    if device.agent_version == release.version:
        return f"already at {release.version}"
    return None


def update_tools(config: Callable[[], UpdateConfig]) -> list[Tool]:
    """The update tool, reading release settings through ``config`` at each call."""

    async def update_agents_tool(ctx: ToolContext, args: UpdateAgentsArgs) -> UpdateAgentsOut:
        """Update outdated agents (one device, a customer, a site or all) to the hub's current signed release."""
        settings = config()
        release = current_offer(settings.dist_dir)
        signer = UpdateSigner(ctx.settings.secret)
        queued, skipped = [], []
        devices = await _targets(ctx, args)
        if not devices:
            raise ToolError("no device matches; rmm-list-devices lists the devices")
        for device in devices:
            reason = _skip_reason(device, release)
            if reason is not None or release is None:
                skipped.append(SkippedDevice(device_id=device.id, hostname=device.hostname, reason=reason or ""))
                continue
            manifest = release.manifest(signer, settings.confirm_within_seconds)
            if platform_of(device) == WHEEL_PLATFORM and manifest.wheel is not None:
                manifest = manifest.wheel  # Windows / macOS: the wheel alone
            command = await commands.enqueue(
                ctx.session,
                org_id=ctx.org_id,
                device_id=device.id,
                kind=CommandKind.UPDATE_AGENT,
                shell=None,
                body=manifest.model_dump_json(),
                env=None,
                timeout=UPDATE_TIMEOUT_SECONDS,
                created_by=ctx.caller,
                approval_id=ctx.approval_id,
                bus=ctx.bus,
            )
            queued.append(
                QueuedUpdate(
                    device_id=device.id,
                    hostname=device.hostname,
                    from_version=device.agent_version,
                    command_id=command.id,
                )
            )
        return UpdateAgentsOut(version=release.version if release else None, queued=queued, skipped=skipped)

    return [
        model_tool(
            source=SOURCE,
            name="rmm-update-agents",
            args_model=UpdateAgentsArgs,
            handler=update_agents_tool,
            annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=True),
            title="Update agents",
            category="devices",
        ),
    ]
