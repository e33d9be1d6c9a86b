"""The RMM Schedules tab: each schedule's next run, last result and run history (linked to the commands
each run queued), and the form that creates or edits one. Create, edit, pause/resume and delete go through
the gate (``rmm-create-schedule``, ``rmm-update-schedule``, ``rmm-pause-schedule``, ``rmm-delete-schedule``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.errors import ToolArgumentError
from native_rmm.automation import schedules
from native_rmm.automation.schedule_schemas import ScheduleOut, ScheduleRunOut
from native_rmm.devices import groups
from native_rmm.devices import queries as q
from native_rmm.models.scripts import Script
from native_rmm.scripts import service as scripts
from policies.deps import GateDep
from policies.outcome import InvocationStatus, Outcome
from ui.page import Page, PageDep, render
from ui.pages.automation_forms import schedule_args, schedule_values
from ui.pages.rmm_actions import invoke
from ui.pages.rmm_device import SHELLS

router = APIRouter(include_in_schema=False)
RUNS_SHOWN = 5
DEVICES_OFFERED = 200
ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Tokyo",
)
DEFAULTS: dict[str, Any] = {
    "tool": "run-script",
    "target_kind": "device",
    "target_ids": [],
    "trigger_kind": "cron",
    "cron": "0 3 * * *",
    "interval_minutes": "60",
    "timezone": "UTC",
    "misfire": "skip",
    "standing_days": "30",
}


async def _scripts(session: DbSession, page: Page) -> dict[str, Script]:
    return {s.slug: s for s in await scripts.list_scripts(session, org_id=page.org.id, enabled=True)}


async def schedules_context(session: DbSession, page: Page) -> dict[str, Any]:
    """What the Schedules tab shows, with the choices its form offers."""
    rows = [ScheduleOut.of(s) for s in await schedules.list_schedules(session, org_id=page.org.id)]
    runs = {
        s.id: [
            ScheduleRunOut.of(r)
            for r in await schedules.schedule_runs(session, org_id=page.org.id, schedule_id=s.id, limit=RUNS_SHOWN)
        ]
        for s in rows
    }
    ids = [c for rs in runs.values() for r in rs for c in r.command_ids]
    devices = await schedules.command_devices(session, org_id=page.org.id, command_ids=ids)
    sites = await q.site_choices(session, org_id=page.org.id)
    customers = sorted({(s.customer_id, s.customer_name) for s in sites}, key=lambda c: c[1].lower())
    return {
        "schedules": rows,
        "schedule_runs": runs,
        "command_devices": devices,
        "form_scripts": list((await _scripts(session, page)).values()),
        "form_devices": await q.pick_devices(session, org_id=page.org.id, q="", limit=DEVICES_OFFERED),
        "form_sites": [s for s in sites if not s.archived],
        "form_customers": customers,
        "form_groups": [g.name for g in await groups.list_groups(session, org_id=page.org.id)],
        "shells": SHELLS,
        "zones": ZONES,
        "values": DEFAULTS,
        "S": InvocationStatus,
    }


async def _tab(
    page: Page,
    session: DbSession,
    *,
    outcome: Outcome | None = None,
    action: str = "",
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    context = await schedules_context(session, page) | extra
    if outcome is not None:
        context |= {"outcome": outcome, "action": action}
    return render(page, "rmm/_schedules_tab.html", status_code=status_code, **context)


def _form_values(form: Any) -> dict[str, Any]:
    """What the user typed, to show the form again after a refusal."""
    values: dict[str, Any] = {k: str(v) for k, v in form.items()}
    kind = values.get("target_kind", "")
    values["target_ids"] = [str(v) for v in form.getlist(f"target_{kind}")]
    values["target_name"] = values.get(f"target_{kind}", "")
    return values


async def _submit(
    page: Page, session: DbSession, gate: GateDep, request: Request, *, schedule_id: int | None
) -> HTMLResponse:
    form = await request.form()
    reason = str(form.get("reason", "")).strip()[:2000]
    editing: dict[str, Any] = {"editing_id": schedule_id} if schedule_id is not None else {}
    try:
        args = schedule_args(form, await _scripts(session, page))
        if schedule_id is None:
            outcome = await invoke(page, session, gate, "rmm-create-schedule", args, reason=reason)
        else:
            args["schedule_id"] = schedule_id
            outcome = await invoke(page, session, gate, "rmm-update-schedule", args, reason=reason)
    except ToolArgumentError as exc:
        return await _tab(
            page, session, values=_form_values(form), form_error=str(exc), form_open=True, status_code=422, **editing
        )
    name = args.get("name") or "schedule"
    what = f"Create schedule {name!r}" if schedule_id is None else f"Save schedule {name!r}"
    if outcome.status is InvocationStatus.FAILED:  # refused arguments: the form stays open with what was typed
        return await _tab(
            page,
            session,
            values=_form_values(form),
            form_error=f"{what} failed: {outcome.message.replace('Value error, ', '')}",
            form_open=True,
            status_code=outcome.error_status or 422,
            **editing,
        )
    return await _tab(page, session, outcome=outcome, action=what)


@router.post("/rmm/schedules")
async def create(request: Request, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Create a schedule through the gate (``rmm-create-schedule``); answers the refreshed tab body."""
    return await _submit(page, session, gate, request, schedule_id=None)


@router.get("/rmm/schedules/{schedule_id}/edit")
async def edit_form(schedule_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """The tab with the schedule's edit form open."""
    row = ScheduleOut.of(await schedules.get_schedule(session, org_id=page.org.id, schedule_id=schedule_id))
    return await _tab(page, session, values=schedule_values(row), form_open=True, editing_id=schedule_id)


@router.post("/rmm/schedules/{schedule_id}")
async def update(schedule_id: Id, request: Request, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Save the edit form through the gate (``rmm-update-schedule``: any standing approval it held is void)."""
    return await _submit(page, session, gate, request, schedule_id=schedule_id)


@router.post("/rmm/schedules/{schedule_id}/delete")
async def delete(schedule_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Delete through the gate (``rmm-delete-schedule``)."""
    outcome = await invoke(page, session, gate, "rmm-delete-schedule", {"schedule_id": schedule_id})
    return await _tab(page, session, outcome=outcome, action=f"Delete schedule #{schedule_id}")


@router.post("/rmm/schedules/{schedule_id}/pause")
async def pause(
    schedule_id: Id, page: PageDep, session: SessionDep, gate: GateDep, paused: bool = True
) -> HTMLResponse:
    """Pause or resume through the gate; answers the refreshed tab body with the outcome."""
    outcome = await invoke(page, session, gate, "rmm-pause-schedule", {"schedule_id": schedule_id, "paused": paused})
    return await _tab(
        page, session, outcome=outcome, action=f"{'Pause' if paused else 'Resume'} schedule #{schedule_id}"
    )
