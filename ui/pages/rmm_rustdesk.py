"""The device header's RustDesk panel (``rmm/_device_rustdesk.html``, loaded into the header), its
admin-only reveal of the permanent password (``rmm-reveal-rustdesk-password`` through the gate) and
its "Install RustDesk" button for a device enrolled without it (``rmm-install-rustdesk``, the same gate)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.deps import SessionDep
from native_rmm.devices import rustdesk
from native_rmm.devices import service as devices
from policies.deps import GateDep
from policies.outcome import InvocationStatus
from ui.page import PageDep, render
from ui.pages.rmm_actions import invoke, outcome_html

router = APIRouter(include_in_schema=False)


@router.get("/rmm/devices/{device_id}/rustdesk")
async def rustdesk_panel(device_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """The panel: ID, ``rustdesk://`` link, set-up error; empty when the installer did not opt in."""
    device = await devices.get_device(session, org_id=page.org.id, device_id=device_id)
    state = await rustdesk.panel(session, org_id=page.org.id, device_id=device.id)
    return render(page, "rmm/_rustdesk_panel.html", device=device, rustdesk=state, password=None)


@router.post("/rmm/devices/{device_id}/rustdesk/reveal")
async def reveal_password(device_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Invoke ``rmm-reveal-rustdesk-password`` (admins; audited) and show the password in the panel."""
    outcome = await invoke(page, session, gate, "rmm-reveal-rustdesk-password", {"device": device_id})
    if outcome.status is not InvocationStatus.DONE or not isinstance(outcome.result, dict):
        return outcome_html(page, outcome, action="Reveal RustDesk password")
    device = await devices.get_device(session, org_id=page.org.id, device_id=device_id)
    state = await rustdesk.panel(session, org_id=page.org.id, device_id=device.id)
    return render(page, "rmm/_rustdesk_panel.html", device=device, rustdesk=state, password=outcome.result["password"])


@router.post("/rmm/devices/{device_id}/rustdesk/install")
async def install_rustdesk(device_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Invoke ``rmm-install-rustdesk`` with the installer's servers (approval by default); show the outcome."""
    outcome = await invoke(page, session, gate, "rmm-install-rustdesk", {"device": device_id})
    return outcome_html(page, outcome, action="Install RustDesk")
