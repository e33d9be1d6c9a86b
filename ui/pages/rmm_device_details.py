"""The device page's "Edit user, role and tags" form: one ``rmm-update-device`` call through the gate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.deps import SessionDep
from policies.deps import GateDep
from policies.outcome import InvocationStatus
from ui.page import PageDep
from ui.pages.rmm_actions import invoke, outcome_html

router = APIRouter(include_in_schema=False)


@router.post("/rmm/devices/{device_id}/details")
async def update_details(
    device_id: Id, page: PageDep, session: SessionDep, gate: GateDep,
    assigned_user_name: Annotated[str, Form(max_length=200)] = "",
    assigned_user_email: Annotated[str, Form(max_length=320)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
    tags: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse:  # fmt: skip
    """Set the assigned user, description and tags (comma-separated) of a device."""
    args = {
        "device": device_id, "assigned_user_name": assigned_user_name.strip(),
        "assigned_user_email": assigned_user_email.strip(), "description": description.strip(),
        "tags": list(dict.fromkeys(t.strip().lower() for t in tags.split(",") if t.strip())),
    }  # fmt: skip
    outcome = await invoke(page, session, gate, "rmm-update-device", args)
    response = outcome_html(page, outcome, action="Save user, role and tags")
    if outcome.status is InvocationStatus.DONE:
        response.headers["HX-Refresh"] = "true"  # the header shows the new facts
    return response
