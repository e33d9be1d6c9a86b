"""The schedule runner (leader-only job): claims each due slot once, runs it through the gate as
automation for the schedule's owner, and moves the schedule to its next slot.

Exactly once: a slot is claimed by inserting its :class:`ScheduleRun` (unique per schedule and slot)
in the same transaction that queues the commands and advances ``next_run_at``; a hub that stops
mid-run rolls all of it back, and a restarted (or another) leader finds the slot either done or due.
Misfires: a slot found more than :data:`MISFIRE_GRACE` late (the hub was down) is recorded as
``missed`` under ``skip``, or run once under ``run_late``; either way the missed slots in between
collapse into one and the schedule continues from its next slot after now.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.db import Database, utcnow
from hub.core.errors import RmmHubError
from native_rmm.automation.engine import automation_caller
from native_rmm.automation.schedule_schemas import TOOL_IDS, TargetSpec
from native_rmm.automation.schedules import grant_of
from native_rmm.automation.targets import resolve_targets
from native_rmm.automation.triggers import TRIGGER, next_fire
from native_rmm.models.automation import Schedule, ScheduleRun
from policies.outcome import InvocationStatus, Outcome
from policies.pipeline import Gate

log = logging.getLogger(__name__)
MISFIRE_GRACE = timedelta(seconds=60)
JOB_NAME = "automation-schedules"
JOB_SECONDS = 5.0


def _command_ids(result: Any) -> list[int]:
    """Command ids in a tool's result: a command (``CommandOut``: ``id`` + ``device_id``) or a script run's list."""
    if not isinstance(result, dict):
        return []
    found = [int(result["id"])] if "device_id" in result and isinstance(result.get("id"), int) else []
    for item in result.get("commands") or []:
        if isinstance(item, dict) and isinstance(item.get("command_id"), int):
            found.append(int(item["command_id"]))
    return found


def _summary(outcomes: list[Outcome]) -> str:
    statuses = {o.status for o in outcomes}
    if statuses == {InvocationStatus.DONE}:
        return "done"
    if InvocationStatus.PENDING_APPROVAL in statuses:
        return "pending_approval"
    if InvocationStatus.REFUSED in statuses:
        return "refused"
    return "failed"


class ScheduleRunner:
    """Fires due schedules."""

    def __init__(self, db: Database, gate: Gate) -> None:
        self._db = db
        self._gate = gate

    async def tick(self, *, now: datetime | None = None) -> int:
        """Run every due slot; returns how many slots ran (missed ones not counted)."""
        now = now or utcnow()
        async with self._db.transaction() as session:
            stmt = select(Schedule.id).where(Schedule.paused.is_(False), Schedule.next_run_at.is_not(None),
                                             Schedule.next_run_at <= now).order_by(Schedule.next_run_at).limit(200)  # fmt: skip
            due = list((await session.scalars(stmt)).all())
        ran = 0
        for schedule_id in due:
            try:
                async with self._db.transaction() as session:
                    ran += await self._one(session, schedule_id, now)
            except IntegrityError:
                log.info("schedule %s: its slot was claimed by another run; skipped", schedule_id)
        return ran

    async def _one(self, session: AsyncSession, schedule_id: int, now: datetime) -> int:
        row = await session.get(Schedule, schedule_id)
        if row is None or row.paused or row.next_run_at is None or row.next_run_at > now:
            return 0
        slot = row.next_run_at
        row.next_run_at = next_fire(TRIGGER.validate_python(row.trigger), timezone=row.timezone, after=max(slot, now),
                                    anchor=row.created_at, end_at=row.end_at)  # fmt: skip
        taken = await session.scalar(select(ScheduleRun.id).where(ScheduleRun.schedule_id == row.id,
                                                                  ScheduleRun.due_at == slot))  # fmt: skip
        if taken is not None:  # this slot already ran (an edit re-computed it): move on
            return 0
        run = ScheduleRun(org_id=row.org_id, schedule_id=row.id, due_at=slot, started_at=now, status="running")
        session.add(run)
        await session.flush()  # the claim: a second claim of this slot fails here
        row.last_run_at, late = now, now - slot > MISFIRE_GRACE
        if late and row.misfire == "skip":
            run.status = row.last_status = "missed"
            run.message = f"slot {slot:%Y-%m-%d %H:%M} UTC was missed (the hub was not running); skipped"
            return 0
        run.status, run.message = await self._fire(session, row, run, late=late)
        row.last_status = run.status
        return 1

    async def _fire(self, session: AsyncSession, row: Schedule, run: ScheduleRun, *, late: bool) -> tuple[str, str]:
        caller = await automation_caller(session, org_id=row.org_id, owner_user_id=row.owner_user_id,
                                         what=f"schedule '{row.name}'")  # fmt: skip
        if caller is None:
            return "failed", "the schedule's owner is disabled or gone; nothing ran"
        devices = await resolve_targets(session, org_id=row.org_id, target=TargetSpec.model_validate(row.target))
        if not devices:
            return "skipped", "the target names no installed device"
        calls = [{**row.args, "device_ids": devices}] if row.tool == "run-script" else \
            [{**row.args, "device": device} for device in devices]  # fmt: skip
        grant = grant_of(row) if row.approval_mode == "standing" else None
        reason = f"schedule '{row.name}' (slot {run.due_at:%Y-%m-%d %H:%M} UTC{', run late' if late else ''})"
        outcomes: list[Outcome] = []
        messages: list[str] = []
        for args in calls:
            try:
                outcome = await self._gate.invoke(session, caller, TOOL_IDS[row.tool], args, reason=reason,
                                                  context={"schedule_id": row.id}, standing=grant)  # fmt: skip
            except RmmHubError as exc:
                return "failed", exc.message
            outcomes.append(outcome)
            messages.append(outcome.message)
            run.command_ids = [*run.command_ids, *_command_ids(outcome.result)]
            if outcome.approval_id is not None:
                run.approval_ids = [*run.approval_ids, outcome.approval_id]
        return _summary(outcomes), "; ".join(messages)[:4000]
