"""Admin → Remote access: privacy mode (consent) per customer, site or device, and the idle timeout in force.

Every change invokes ``rmm-set-remote-consent`` through the gate for the signed-in admin, so policy,
approval and audit apply as for any other caller. The idle timeout is a setting of the relay node
(``RMMHUB_RELAY_IDLE_TIMEOUT_MINUTES``), shown here with the warnings it implies.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from native_rmm.devices.queries import customer_overview, pick_devices
from native_rmm.remote.queries import consent_rules
from policies.deps import GateDep
from policies.outcome import InvocationStatus, Outcome
from relay.module import config_from
from ui.page import AdminPageDep, Page, render
from ui.pages.rmm_actions import invoke

router = APIRouter(include_in_schema=False)
DEVICE_CHOICES = 500
Scope = Literal["customer", "site", "device"]
Required = Literal["required", "off", "inherit"]


async def _page(page: Page, session: DbSession, outcome: Outcome | None = None, action: str = "") -> HTMLResponse:
    config = config_from(page.hub.settings)
    status = 200 if outcome is None or outcome.status is not InvocationStatus.FAILED else (outcome.error_status or 400)
    return render(
        page,
        "admin/remote_access.html",
        rules=await consent_rules(session, org_id=page.org.id),
        customers=await customer_overview(session, org_id=page.org.id),
        devices=await pick_devices(session, org_id=page.org.id, q="", limit=DEVICE_CHOICES),
        idle_minutes=config.idle_timeout / 60,
        idle_warnings=[round(config.idle_timeout - mark) for mark in sorted(config.idle_warnings)],
        outcome=outcome,
        action=action,
        S=InvocationStatus,
        status_code=status,
    )


@router.get("/admin/rmm/remote-access")
async def remote_access_page(page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """Privacy-mode rules and the idle timeout."""
    return await _page(page, session)


@router.post("/admin/rmm/remote-access/consent")
async def set_consent(
    page: AdminPageDep,
    session: SessionDep,
    gate: GateDep,
    scope: Annotated[Scope, Form()],
    scope_id: Annotated[Id, Form()],
    required: Annotated[Required, Form()],
) -> HTMLResponse:
    """``rmm-set-remote-consent``: the end user must accept (required), is not asked (off), or inherit."""
    value = {"required": True, "off": False, "inherit": None}[required]
    outcome = await invoke(
        page, session, gate, "rmm-set-remote-consent", {"scope": scope, "scope_id": scope_id, "required": value}
    )
    wording = {"required": "ask the end user", "off": "do not ask", "inherit": "inherit"}[required]
    return await _page(page, session, outcome, f"Privacy mode for {scope} #{scope_id}: {wording}")
