"""Command queue service: what operators, scripts and the agent API do with commands.

``enqueue`` stores a ``queued`` command and publishes ``command.queued`` (with the wire spec)
after commit; the replica holding the device's WebSocket pushes it (:mod:`native_rmm.commands.push`),
and every check-in hands out what the agent has not acknowledged yet. The first result the agent
reports is kept (it also overrides a hub-side ``timed_out``/``cancelled``: what really happened
wins); repeats are acknowledged and dropped. Topics: ``command.queued``, ``command.updated``
(data: ``command_id``, ``device_id``, ``status``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import (
    TERMINAL_STATUSES,
    CommandKind,
    CommandResult,
    CommandSpec,
    CommandStatus,
    CommandStatusUpdate,
    Shell,
)
from hub.core.caller import Caller
from hub.core.db import get_in_org, utcnow
from hub.core.errors import Conflict, NotFound, ToolError, ToolNotFoundError
from hub.core.events import EventBus
from hub.core.uow import publish_after_commit, session_bus
from native_rmm.errors import unknown_command
from native_rmm.events import COMMAND_QUEUED, COMMAND_UPDATED, CommandChanged, CommandQueued
from native_rmm.models.commands import ACTIVE_STATUSES, Command
from native_rmm.models.devices import Device

log = logging.getLogger(__name__)
HANDOUT_LIMIT = 50


def to_spec(command: Command) -> CommandSpec:
    """The wire form of a command."""
    return CommandSpec(
        id=command.uid, kind=command.kind, shell=command.shell, body=command.body, env=command.env,
        patch_ids=command.patch_ids, timeout_seconds=command.timeout_seconds, issued_at=command.queued_at,
    )  # fmt: skip


def _publish(session: AsyncSession, bus: EventBus | None, command: Command, spec: CommandSpec | None = None) -> None:
    """``command.queued`` (with the agent's ``spec``) or ``command.updated``, after commit."""
    bus = bus or session_bus(session)
    if bus is None:
        log.debug("no event bus in this session; command %s waits for the next check-in", command.id)
        return
    changed = CommandChanged(command_id=command.id, device_id=command.device_id, status=command.status)
    if spec is None:
        event = COMMAND_UPDATED.event(command.org_id, changed)
    else:
        event = COMMAND_QUEUED.event(command.org_id, CommandQueued(**dict(changed), uid=command.uid, spec=spec))
    publish_after_commit(session, bus, event)


DEMO_NOTE = (
    "demo device: it has no agent, so nothing ran (demo devices are seeded examples); "
    "enroll a real device from Admin → RMM → Agent installers to run commands"
)


async def enqueue(
    session: AsyncSession,
    *,
    org_id: int,
    device_id: int,
    kind: CommandKind,
    shell: Shell | None,
    body: str,
    env: Mapping[str, str] | None,
    timeout: int,  # noqa: ASYNC109 - the command's timeout on the agent, not this call's
    created_by: Caller | str,
    approval_id: int | None = None,
    script_id: int | None = None,
    patch_ids: Sequence[str] | None = None,
    bus: EventBus | None = None,
) -> Command:
    """Queue a command for a device of ``org_id``; it is pushed the moment the transaction commits.

    Raises:
        ToolNotFoundError: no such device in the organisation.
        ToolError: the device has no agent any more, or the command is not valid on the wire
            (empty body, too large, bad environment names, timeout out of range).
    """
    device = await get_in_org(session, Device, device_id, org_id)
    if device is None:
        raise ToolNotFoundError(f"device #{device_id} does not exist; rmm-list-devices lists the devices")
    if device.uninstalled_at is not None:
        raise ToolError(f"device #{device_id} ({device.label}) no longer has an agent; reinstall it first")
    now = utcnow()
    uid = f"cmd_{uuid.uuid4().hex}"
    try:
        spec = CommandSpec(
            id=uid, kind=kind, shell=shell, body=body, env=dict(env or {}), patch_ids=list(patch_ids or []),
            timeout_seconds=timeout, issued_at=now,
        )  # fmt: skip
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'command'}: {e['msg']}" for e in exc.errors())
        raise ToolError(f"the command cannot be sent to an agent: {problems}") from exc
    by_label, by_user = (created_by.label, created_by.user_id) if isinstance(created_by, Caller) else (created_by, None)
    command = Command(
        uid=uid, org_id=org_id, device_id=device_id, kind=kind, shell=shell, body=spec.body, env=spec.env,
        patch_ids=spec.patch_ids, timeout_seconds=timeout, status=CommandStatus.QUEUED, created_by=by_label[:200],
        created_by_user_id=by_user, approval_id=approval_id, script_id=script_id, queued_at=now,
    )  # fmt: skip
    if device.is_demo:
        # A demo device has no agent: nothing would ever pick the command up, so it ends at once, saying why.
        command.status, command.finished_at, command.result_at = CommandStatus.CANCELLED, now, now
        command.error = DEMO_NOTE
        session.add(command)
        await session.flush()
        return command
    session.add(command)
    await session.flush()
    _publish(session, bus, command, spec)
    return command


async def get_command(session: AsyncSession, *, org_id: int, command_id: int) -> Command:
    """One command of the organisation, or :class:`NotFound`."""
    command = await get_in_org(session, Command, command_id, org_id)
    if command is None:
        raise NotFound(f"command #{command_id} does not exist")
    return command


async def list_commands(
    session: AsyncSession, *, org_id: int, device_id: int | None = None, before_id: int | None = None, limit: int = 50
) -> Sequence[Command]:
    """Commands of an organisation (optionally one device), newest first."""
    stmt = select(Command).where(Command.org_id == org_id)
    if device_id is not None:
        stmt = stmt.where(Command.device_id == device_id)
    if before_id is not None:
        stmt = stmt.where(Command.id < before_id)
    return (await session.execute(stmt.order_by(Command.id.desc()).limit(limit))).scalars().all()


async def cancel(
    session: AsyncSession, *, org_id: int, command_id: int, by: str, bus: EventBus | None = None
) -> Command:
    """Cancel a command the agent has not picked up yet.

    Raises:
        NotFound: no such command.
        Conflict: it already finished, or the agent already acknowledged or started it.
    """
    command = await get_command(session, org_id=org_id, command_id=command_id)
    if command.status in TERMINAL_STATUSES:
        raise Conflict(f"command #{command_id} already ended ({command.status.value})")
    if command.status is CommandStatus.RUNNING or command.acked_at is not None:
        raise Conflict(
            f"command #{command_id} was already picked up by the agent; it stops at its timeout "
            f"({command.timeout_seconds} s)"
        )
    command.status = CommandStatus.CANCELLED
    command.finished_at = utcnow()
    command.error = f"cancelled by {by}"[:1000]
    await session.flush()
    _publish(session, bus, command)
    return command


# --- the agent side ---------------------------------------------------------------------------


async def pending_for_device(session: AsyncSession, *, device_id: int, limit: int = HANDOUT_LIMIT) -> Sequence[Command]:
    """Commands the agent has not acknowledged yet (queued, or delivered without an ack), oldest first."""
    stmt = (
        select(Command)
        .where(
            Command.device_id == device_id,
            Command.status.in_((CommandStatus.QUEUED, CommandStatus.DELIVERED)),
            Command.acked_at.is_(None),
        )
        .order_by(Command.id)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


def delivery_deadline(command: Command, at: datetime, grace_seconds: float) -> datetime:
    """When the hub stops waiting for a command delivered or started at ``at``."""
    return at + timedelta(seconds=command.timeout_seconds + grace_seconds)


async def _own(session: AsyncSession, *, device_id: int, uid: str) -> Command:
    stmt = select(Command).where(Command.uid == uid, Command.device_id == device_id)
    command = (await session.execute(stmt)).scalar_one_or_none()
    if command is None:
        raise unknown_command(uid)
    return command


def keep_timeline_monotonic(command: Command) -> None:
    """Order the command's timestamps: queued <= delivered <= acked <= started <= finished <= result.

    The hub stamps ``delivered_at``/``acked_at`` when its batched writer or the agent's message
    gets to them, which for a fast command can be after the agent already reported it finished
    (the agent's clock stamps ``started_at``/``finished_at``). Hub-side stamps are pulled back to
    the first agent-side one; agent stamps from a clock behind the hub's are raised to the queue
    time, so the timeline never runs backwards.
    """
    floor = command.queued_at
    if command.started_at is not None and floor is not None and command.started_at < floor:
        command.started_at = floor
    if command.finished_at is not None:
        lower = command.started_at or floor
        if lower is not None and command.finished_at < lower:
            command.finished_at = lower
    agent_first = command.started_at or command.finished_at
    for name in ("delivered_at", "acked_at"):
        value = getattr(command, name)
        if value is not None and agent_first is not None and value > agent_first:
            setattr(command, name, agent_first)
    if command.delivered_at is not None and command.acked_at is not None and command.acked_at < command.delivered_at:
        command.acked_at = command.delivered_at
    last = command.finished_at or command.started_at
    if command.result_at is not None and last is not None and command.result_at < last:
        command.result_at = last


async def record_running(
    session: AsyncSession, *, device_id: int, update_msg: CommandStatusUpdate, grace_seconds: float,
    bus: EventBus | None = None,
) -> None:  # fmt: skip
    """The agent started a command (also counts as its acknowledgement).

    Raises:
        AgentRequestError: 404 the command is not one of this device's.
    """
    command = await _own(session, device_id=device_id, uid=update_msg.command_id)
    now = utcnow()
    command.acked_at = command.acked_at or now
    command.delivered_at = command.delivered_at or now
    if command.status in (CommandStatus.QUEUED, CommandStatus.DELIVERED):
        command.status = CommandStatus.RUNNING
        command.started_at = update_msg.started_at
        command.deadline_at = delivery_deadline(command, max(update_msg.started_at, now), grace_seconds)
        keep_timeline_monotonic(command)
        _publish(session, bus, command)
    await session.flush()


async def record_result(
    session: AsyncSession, *, device_id: int, result: CommandResult, bus: EventBus | None = None
) -> bool:
    """Store the agent's result; returns False when a result was already stored (a repeat to ack).

    Raises:
        AgentRequestError: 404 the command is not one of this device's.
    """
    command = await _own(session, device_id=device_id, uid=result.command_id)
    if command.result_at is not None:
        return False
    now = utcnow()
    command.status = CommandStatus(result.status)
    command.exit_code = result.exit_code
    command.stdout, command.stderr, command.truncated = result.stdout, result.stderr, result.truncated
    command.started_at = result.started_at or command.started_at
    command.finished_at = result.finished_at
    command.acked_at = command.acked_at or now
    command.delivered_at = command.delivered_at or now
    command.result_at = now
    command.error = None
    keep_timeline_monotonic(command)
    await session.flush()
    _publish(session, bus, command)
    return True


async def expire_overdue(
    session: AsyncSession, *, now: datetime, queue_ttl: timedelta, bus: EventBus | None = None, limit: int = 1000
) -> int:
    """Mark ``timed_out`` what the hub stopped waiting for; returns how many.

    Delivered or running commands past ``deadline_at`` (their timeout plus a grace), and queued
    commands never delivered within ``queue_ttl``.
    """
    stmt = (
        select(Command)
        .where(
            Command.status.in_(ACTIVE_STATUSES),
            or_(
                Command.deadline_at < now,
                (Command.status == CommandStatus.QUEUED) & (Command.queued_at < now - queue_ttl),
            ),
        )
        .order_by(Command.id)
        .limit(limit)
    )
    expired = (await session.execute(stmt)).scalars().all()
    for command in expired:
        never = command.status is CommandStatus.QUEUED
        command.status = CommandStatus.TIMED_OUT
        command.finished_at = now
        command.error = (
            f"never delivered: the device did not connect or check in within {queue_ttl}"
            if never
            else f"no result from the agent within the {command.timeout_seconds} s timeout (plus grace)"
        )
        _publish(session, bus, command)
    await session.flush()
    return len(expired)
