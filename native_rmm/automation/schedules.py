"""Schedules: create (a standing approval when the create itself was approved), edit (voids it), pause,
delete, list, and the run history. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller
from hub.core.changes import owner_of, record_change
from hub.core.db import require_in_org, utcnow
from hub.core.errors import InvalidRequest
from native_rmm.automation.schedule_schemas import TOOL_IDS, ScheduleIn
from native_rmm.automation.triggers import TRIGGER, next_fire
from native_rmm.models.automation import Schedule, ScheduleRun
from native_rmm.models.commands import Command
from policies.standing import StandingGrant, standing_digest


def bound_args(row: Schedule) -> dict[str, Any]:
    """What a standing approval binds: the tool's arguments and the target spec, as stored."""
    return {"args": row.args, "target": row.target}


def grant_of(row: Schedule) -> StandingGrant | None:
    """The schedule's standing approval as the gate checks it (None without one)."""
    if row.standing_approval_id is None or row.standing_digest is None or row.standing_expires_at is None:
        return None
    return StandingGrant(
        approval_id=row.standing_approval_id,
        tool_id=TOOL_IDS[row.tool],
        bound=bound_args(row),
        digest=row.standing_digest,
        expires_at=row.standing_expires_at,
    )


def _schedule_next(row: Schedule) -> None:
    trigger = TRIGGER.validate_python(row.trigger)
    now = utcnow()
    # Never before a slot that already ran (a run's clock may be ahead of this one's).
    now = max(now, row.last_run_at) if row.last_run_at is not None else now
    after = now - timedelta(seconds=1) if trigger.kind == "once" else now
    row.next_run_at = next_fire(trigger, timezone=row.timezone, after=after, anchor=row.created_at, end_at=row.end_at)


def _audit(session: AsyncSession, actor: Caller, what: str, row: Schedule) -> None:
    record_change(
        session, actor=actor.actor, org_id=actor.org_id, outcome=what, detail={"schedule": row.id, "name": row.name}
    )


async def create_schedule(
    session: AsyncSession, *, actor: Caller, data: ScheduleIn, secret_key: str, approval_id: int | None
) -> Schedule:
    """Create a schedule owned by the requester; ``approval_id`` (the approved create) makes it standing."""
    owner = owner_of(actor, "a schedule needs a person to own it")
    now = utcnow()
    row = Schedule(
        org_id=actor.org_id,
        name=data.name,
        owner_user_id=owner,
        tool=data.tool,
        args=data.args,
        target=data.target.model_dump(mode="json"),
        trigger=data.trigger.model_dump(mode="json"),
        timezone=data.timezone,
        end_at=data.end_at,
        misfire=data.misfire,
        approval_mode=data.approval_mode,
        created_at=now,
        updated_at=now,
    )
    _schedule_next(row)
    if row.next_run_at is None:
        raise InvalidRequest("the schedule would never run: its time is in the past or after its end date")
    if data.approval_mode == "standing" and approval_id is not None:
        row.standing_approval_id = approval_id
        row.standing_expires_at = now + timedelta(days=data.standing_days)
        row.standing_digest = standing_digest(
            secret_key, org_id=row.org_id, tool_id=TOOL_IDS[row.tool], bound=bound_args(row)
        )
    session.add(row)
    await session.flush()
    _audit(session, actor, "created", row)
    return row


async def get_schedule(session: AsyncSession, *, org_id: int, schedule_id: int) -> Schedule:
    """One schedule of the organisation.

    Raises:
        NotFound: no such schedule here.
    """
    return await require_in_org(
        session, Schedule, schedule_id, org_id, missing=f"schedule {schedule_id} does not exist"
    )


async def edit_schedule(session: AsyncSession, *, actor: Caller, schedule_id: int, data: ScheduleIn) -> Schedule:
    """Change what, where or when a schedule runs; its standing approval is void from now on."""
    row = await get_schedule(session, org_id=actor.org_id, schedule_id=schedule_id)
    row.name, row.tool, row.args = data.name, data.tool, data.args
    row.target, row.trigger = data.target.model_dump(mode="json"), data.trigger.model_dump(mode="json")
    row.timezone, row.end_at, row.misfire, row.approval_mode = (
        data.timezone,
        data.end_at,
        data.misfire,
        data.approval_mode,
    )
    row.standing_approval_id = row.standing_digest = row.standing_expires_at = None
    row.updated_at = utcnow()
    _schedule_next(row)
    _audit(session, actor, "edited (standing approval voided)", row)
    return row


async def pause_schedule(session: AsyncSession, *, actor: Caller, schedule_id: int, paused: bool) -> Schedule:
    """Pause or resume (a resumed schedule continues from its next slot after now)."""
    row = await get_schedule(session, org_id=actor.org_id, schedule_id=schedule_id)
    row.paused = paused
    if not paused:
        _schedule_next(row)
    _audit(session, actor, "paused" if paused else "resumed", row)
    return row


async def delete_schedule(session: AsyncSession, *, actor: Caller, schedule_id: int) -> None:
    """Delete a schedule and its run history (commands it queued stay)."""
    row = await get_schedule(session, org_id=actor.org_id, schedule_id=schedule_id)
    _audit(session, actor, "deleted", row)
    await session.delete(row)


async def list_schedules(session: AsyncSession, *, org_id: int) -> Sequence[Schedule]:
    """The organisation's schedules by name."""
    return (await session.scalars(select(Schedule).where(Schedule.org_id == org_id).order_by(Schedule.name))).all()


async def schedule_runs(
    session: AsyncSession, *, org_id: int, schedule_id: int, limit: int = 20
) -> Sequence[ScheduleRun]:
    """A schedule's runs, newest first."""
    stmt = select(ScheduleRun).where(ScheduleRun.org_id == org_id, ScheduleRun.schedule_id == schedule_id)
    return (await session.scalars(stmt.order_by(ScheduleRun.id.desc()).limit(limit))).all()


async def command_devices(session: AsyncSession, *, org_id: int, command_ids: list[int]) -> dict[int, int]:
    """Command id -> device id, for linking a run's commands (other organisations' ids are dropped)."""
    if not command_ids:
        return {}
    stmt = select(Command.id, Command.device_id).where(Command.org_id == org_id, Command.id.in_(command_ids))
    return {cid: did for cid, did in (await session.execute(stmt)).all()}
