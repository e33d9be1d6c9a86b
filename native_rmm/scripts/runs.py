"""Running scripts on devices and their run history (commands with a ``script_id``).

A run validates everything before anything is queued: the script is enabled, the parameters fit
its schema (defaults filled in), every device exists in the caller's organisation, still has its
agent and runs a compatible OS. Then one command per device is enqueued through the device
plane's command queue, with the parameters as environment variables
(``agent.protocol.script_param_env``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import CommandKind, OsFamily, script_param_env
from hub.core.caller import Caller
from hub.core.db import get_in_org
from hub.core.errors import ToolError, ToolNotFoundError
from hub.core.events import EventBus
from native_rmm.commands import service as commands
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.models.scripts import Script, ScriptOsType
from native_rmm.scripts.params import resolve_params
from native_rmm.scripts.schemas import QueuedRun, RunResult, ScriptRunOut

_OS_OF = {
    OsFamily.WINDOWS: ScriptOsType.WINDOWS,
    OsFamily.LINUX: ScriptOsType.LINUX,
    OsFamily.MACOS: ScriptOsType.MACOS,
}


def check_compatible(script: Script, device: Device) -> None:
    """Raise a clear :class:`ToolError` when ``script`` cannot run on ``device``."""
    if device.status is DeviceStatus.UNINSTALLED:
        raise ToolError(f"device #{device.id} ({device.label}) no longer has an agent; reinstall it first")
    if script.os_type is ScriptOsType.ALL:
        return
    if device.os_family is None:
        raise ToolError(
            f"device #{device.id} ({device.label}) has not reported its OS yet; "
            f"script {script.slug!r} is for {script.os_type.value} only"
        )
    if _OS_OF[device.os_family] is not script.os_type:
        raise ToolError(
            f"script {script.slug!r} is for {script.os_type.value} but device #{device.id} ({device.label}) "
            f"runs {device.os_family.value}; pick a {device.os_family.value} (or ALL) script"
        )


async def run_script(
    session: AsyncSession,
    *,
    caller: Caller,
    script_id: int,
    device_ids: Sequence[int],
    params: dict[str, Any],
    approval_id: int | None = None,
    tool_id: str = "native_rmm:rmm-run-script",
    bus: EventBus | None = None,
) -> RunResult:
    """Queue ``script_id`` on every device in ``device_ids`` (all or nothing).

    Raises:
        ToolNotFoundError: the script or a device does not exist in the caller's organisation.
        ToolArgumentError: a parameter does not fit the script's schema.
        ToolError: the script is disabled, or a device cannot run it.
    """
    script = await get_in_org(session, Script, script_id, caller.org_id)
    if script is None:
        raise ToolNotFoundError(f"script #{script_id} does not exist; rmm-list-scripts lists them")
    if not script.enabled:
        raise ToolError(f"script {script.slug!r} is disabled; an admin must enable it before it can run")
    values = resolve_params(script.parameters, params, tool_id=tool_id)
    try:
        env = script_param_env(values)
    except ValueError as exc:
        raise ToolError(str(exc)) from exc
    wanted = list(dict.fromkeys(device_ids))
    found = {
        d.id: d
        for d in (
            await session.execute(select(Device).where(Device.org_id == caller.org_id, Device.id.in_(wanted)))
        ).scalars()
    }
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise ToolNotFoundError(f"no device with id {', '.join(missing)}; rmm-list-devices lists them")
    for device_id in wanted:
        check_compatible(script, found[device_id])
    queued = []
    for device_id in wanted:
        command = await commands.enqueue(
            session,
            org_id=caller.org_id,
            device_id=device_id,
            kind=CommandKind.SCRIPT,
            shell=script.shell,
            body=script.body,
            env=env,
            timeout=script.timeout_seconds,
            created_by=caller,
            approval_id=approval_id,
            script_id=script.id,
            bus=bus,
        )
        queued.append(QueuedRun(command_id=command.id, device_id=device_id, status=command.status))
    return RunResult(script_id=script.id, script=script.slug, commands=queued)


async def list_script_runs(
    session: AsyncSession,
    *,
    org_id: int,
    device_id: int | None = None,
    script_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[ScriptRunOut]:
    """Script runs of an organisation, newest first, optionally of one device and/or script, with output."""
    stmt = (
        select(Command, Script.name)
        .outerjoin(Script, Script.id == Command.script_id)
        .where(Command.org_id == org_id, Command.script_id.is_not(None))
    )
    if device_id is not None:
        stmt = stmt.where(Command.device_id == device_id)
    if script_id is not None:
        stmt = stmt.where(Command.script_id == script_id)
    if before_id is not None:
        stmt = stmt.where(Command.id < before_id)
    rows = (await session.execute(stmt.order_by(Command.id.desc()).limit(limit))).all()
    return [
        ScriptRunOut(
            command_id=c.id,
            device_id=c.device_id,
            script_id=c.script_id or 0,
            script_name=name or f"(deleted script #{c.script_id})",
            status=c.status,
            exit_code=c.exit_code,
            stdout=c.stdout,
            stderr=c.stderr,
            truncated=c.truncated,
            error=c.error,
            env=c.env,
            created_by=c.created_by,
            queued_at=c.queued_at,
            started_at=c.started_at,
            finished_at=c.finished_at,
        )
        for c, name in rows
    ]
