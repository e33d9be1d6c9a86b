"""Admin -> Customers -> Status page: set up a customer's public status page (tools through the gate).

Saving invokes ``rmm-update-status-page``, "Rotate URL" ``rmm-rotate-status-page-url``; the page
re-renders with the gate's answer. The URL is shown only in the answer that minted it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from native_rmm.status_pages import queries
from native_rmm.status_pages.schemas import MAX_INCIDENT_DAYS, ItemKind, StatusPageOut
from policies.deps import GateDep
from policies.outcome import InvocationStatus, Outcome
from ui.page import AdminPageDep, Page, render
from ui.pages.rmm_actions import invoke

router = APIRouter(include_in_schema=False)


async def _page(
    page: Page, session: DbSession, customer_id: int, outcome: Outcome | None = None, action: str = ""
) -> HTMLResponse:
    form = await queries.status_page_form(session, org_id=page.org.id, customer_id=customer_id)
    minted = None
    if outcome is not None and outcome.status is InvocationStatus.DONE:
        result = outcome.result_as(StatusPageOut)
        minted = result.status_url if result is not None else None
    chosen = {(i.kind, i.id): i.label for i in form.page.items}
    status = 200 if outcome is None or outcome.status is not InvocationStatus.FAILED else (outcome.error_status or 400)
    return render(
        page,
        "admin/status_page.html",
        form=form,
        chosen=chosen,
        minted=minted,
        outcome=outcome,
        action=action,
        S=InvocationStatus,
        K=ItemKind,
        max_days=MAX_INCIDENT_DAYS,
        status_code=status,
    )


@router.get("/admin/rmm/customers/{customer_id}/status-page")
async def status_page_setup(customer_id: Id, page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """The customer's status page: enabled, entries and their public names, incident window."""
    return await _page(page, session, customer_id)


def _args(customer_id: int, form: Any) -> dict[str, Any]:
    """The tool's arguments from the form (``show`` = ``monitor:ID`` / ``device:ID``; ``label_<kind>_<id>``)."""
    items: list[dict[str, Any]] = []
    for value in form.getlist("show"):
        kind, _, raw = str(value).partition(":")
        if kind not in {k.value for k in ItemKind} or not raw.isdigit():
            continue  # a tampered checkbox names nothing; the tool validates the rest
        items.append({"kind": kind, "id": int(raw), "label": str(form.get(f"label_{kind}_{raw}", "")).strip()})
    days = str(form.get("incident_days", "7")).strip()
    return {
        "customer_id": customer_id,
        "enabled": form.get("enabled") == "on",
        "title": str(form.get("title", "")).strip(),
        "items": items,
        "incident_days": int(days) if days.isdigit() else days,
    }


@router.post("/admin/rmm/customers/{customer_id}/status-page")
async def save_status_page(
    customer_id: Id, request: Request, page: AdminPageDep, session: SessionDep, gate: GateDep
) -> HTMLResponse:
    """``rmm-update-status-page``."""
    args = _args(customer_id, await request.form())
    outcome = await invoke(page, session, gate, "rmm-update-status-page", args)
    return await _page(page, session, customer_id, outcome, "Save status page")


@router.post("/admin/rmm/customers/{customer_id}/status-page/rotate")
async def rotate_url(customer_id: Id, page: AdminPageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """``rmm-rotate-status-page-url``."""
    outcome = await invoke(page, session, gate, "rmm-rotate-status-page-url", {"customer_id": customer_id})
    return await _page(page, session, customer_id, outcome, "Rotate status page URL")
