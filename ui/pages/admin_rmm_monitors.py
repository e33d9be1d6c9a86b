"""Admin → RMM → Synthetic monitors: list, create, enable/disable and delete (HTTP, ping, TLS).

Monitors are admin configuration, changed through the monitor service as its REST API does
(audited there); the scheduler runs them and raises an alert after N consecutive failures.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.validation import validation_problems
from native_rmm.models.monitors import MonitorKind
from native_rmm.monitors import service as monitors
from native_rmm.monitors.schemas import MonitorIn, MonitorUpdate
from ui.page import AdminPageDep, Page, render

router = APIRouter(include_in_schema=False)
FIELDS = ("name", "kind", "target", "port", "expected_status", "content_match", "interval_seconds", "failure_threshold")
DEFAULTS: dict[str, Any] = {
    "kind": "http",
    "expected_status": "200",
    "interval_seconds": "300",
    "failure_threshold": "3",
}


async def _page(page: Page, session: DbSession, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    rows = await monitors.list_monitors(session, org_id=page.org.id)
    extra.setdefault("values", DEFAULTS)
    extra.setdefault("errors", [])
    kinds = [k.value for k in MonitorKind]
    return render(page, "admin/rmm_monitors.html", monitors=rows, kinds=kinds, status_code=status_code, **extra)


@router.get("/admin/rmm/monitors")
async def monitors_page(page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """The organisation's synthetic monitors with the state of their last run."""
    return await _page(page, session)


@router.post("/admin/rmm/monitors")
async def create_monitor(request: Request, page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """Create a monitor; invalid input re-renders the form with what was typed and why it was refused."""
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in FIELDS}
    data = {k: v for k, v in values.items() if v != ""}
    try:
        monitor = await monitors.create_monitor(session, actor=page.caller, data=MonitorIn.model_validate(data))
    except ValidationError as exc:
        errors = validation_problems(exc, root="monitor")
        return await _page(page, session, values=values, errors=errors, status_code=422)
    return await _page(page, session, notice=f"Monitor {monitor.name!r} created; it runs at the next scheduler tick.")


@router.post("/admin/rmm/monitors/{monitor_id}/enabled")
async def toggle_monitor(monitor_id: Id, request: Request, page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """Enable or disable a monitor (disabling resolves its alert)."""
    enabled = (await request.form()).get("enabled") == "true"
    monitor = await monitors.update_monitor(
        session,
        actor=page.caller,
        monitor_id=monitor_id,
        data=MonitorUpdate(enabled=enabled),
        bus=page.hub.bus,
    )
    return await _page(page, session, notice=f"Monitor {monitor.name!r} {'enabled' if enabled else 'disabled'}.")


@router.post("/admin/rmm/monitors/{monitor_id}/delete")
async def delete_monitor(monitor_id: Id, page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """Delete a monitor (its alert history is kept)."""
    monitor = await monitors.get_monitor(session, org_id=page.org.id, monitor_id=monitor_id)
    name = monitor.name
    await monitors.delete_monitor(session, actor=page.caller, monitor_id=monitor_id, bus=page.hub.bus)
    return await _page(page, session, notice=f"Monitor {name!r} deleted.")
