"""The RMM Schedules tab: each schedule's next run, last result and run history (linked to the commands
each run queued); pause and resume go through the gate (``rmm-pause-schedule``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from native_rmm.automation import schedules
from native_rmm.automation.schedule_schemas import ScheduleOut, ScheduleRunOut
from policies.deps import GateDep
from policies.outcome import InvocationStatus
from ui.page import Page, PageDep, render
from ui.pages.rmm_actions import invoke

router = APIRouter(include_in_schema=False)
RUNS_SHOWN = 5


async def schedules_context(session: DbSession, page: Page) -> dict[str, Any]:
    """What the Schedules tab shows."""
    rows = [ScheduleOut.of(s) for s in await schedules.list_schedules(session, org_id=page.org.id)]
    runs = {s.id: [ScheduleRunOut.of(r) for r in await schedules.schedule_runs(
        session, org_id=page.org.id, schedule_id=s.id, limit=RUNS_SHOWN)] for s in rows}  # fmt: skip
    ids = [c for rs in runs.values() for r in rs for c in r.command_ids]
    devices = await schedules.command_devices(session, org_id=page.org.id, command_ids=ids)
    return {"schedules": rows, "schedule_runs": runs, "command_devices": devices}


@router.post("/rmm/schedules/{schedule_id}/pause")
async def pause(
    schedule_id: Id, page: PageDep, session: SessionDep, gate: GateDep, paused: bool = True
) -> HTMLResponse:
    """Pause or resume through the gate; answers the refreshed tab body with the outcome."""
    outcome = await invoke(page, session, gate, "rmm-pause-schedule", {"schedule_id": schedule_id, "paused": paused})
    context = await schedules_context(session, page)
    return render(page, "rmm/_schedules_tab.html", outcome=outcome, S=InvocationStatus,
                  action=f"{'Pause' if paused else 'Resume'} schedule #{schedule_id}", **context)  # fmt: skip
