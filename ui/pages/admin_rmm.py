"""Admin → RMM: agent installers (Base + scoped; copy the per-OS command) and metric thresholds.

Both are admin configuration, not tools: they go through the installer and threshold services the
REST API uses (each audits the change).
"""

from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_address
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hub.core.bounds import DB_INT_MAX, Id
from hub.core.db import DbSession, utcnow
from hub.core.deps import SessionDep
from hub.core.errors import ToolError
from hub.core.validation import validation_problems
from native_rmm.alerts import thresholds as threshold_service
from native_rmm.alerts.customer_thresholds import customers_with_own_sets
from native_rmm.alerts.schemas import Thresholds
from native_rmm.devices import queries as q
from native_rmm.installers import service as installers
from native_rmm.models.alerts import MetricName
from native_rmm.updates import auto as agent_updates
from ui.page import AdminPageDep, Page, render

router = APIRouter(include_in_schema=False)

EXPIRY_CHOICES = [(0, "never"), (1, "1 day"), (7, "7 days"), (30, "30 days"), (90, "90 days")]
METRIC_LABELS = {MetricName.CPU: "CPU", MetricName.MEMORY: "Memory", MetricName.DISK: "Disk"}


def _base_url(page: Page) -> str:
    """The URL agents reach the hub at (``RMMHUB_PUBLIC_URL``, else this request's base URL)."""
    return (page.hub.settings.public_url or str(page.request.base_url)).rstrip("/")


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine only (``localhost``, ``127.0.0.0/8``, ``::1``): endpoints
    elsewhere cannot reach a hub at such an address."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


async def _installers_page(page: Page, session: DbSession, **extra: Any) -> HTMLResponse:
    base = _base_url(page)
    extra.setdefault("loopback_url", base if is_loopback_url(base) else "")
    rows = await installers.list_installers(session, org_id=page.org.id, include_revoked=True)
    views = [installers.view(session, i, base_url=base) for i in rows]
    sites = await q.site_choices(session, org_id=page.org.id)
    names = {s.id: f"{s.customer_name} / {s.name}" for s in sites}
    customers = {s.customer_id: s.customer_name for s in sites}
    return render(
        page,
        "admin/rmm_installers.html",
        views=views,
        sites=sites,
        site_names=names,
        customers=customers,
        expiries=EXPIRY_CHOICES,
        now=utcnow(),
        updates=await agent_updates.get_settings(session, page.org.id),
        **extra,
    )


@router.get("/admin/rmm/installers")
async def installers_page(page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """Installers with their per-OS install commands."""
    return await _installers_page(page, session)


@router.post("/admin/rmm/installers")
async def create_installer(
    page: AdminPageDep,
    session: SessionDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    scope: Annotated[str, Form(max_length=40)] = "",
    expires_in_days: Annotated[int, Form(ge=0, le=3650)] = 0,
    max_uses: Annotated[str, Form(max_length=10)] = "",
    quick_support: Annotated[bool, Form()] = False,
    rustdesk: Annotated[bool, Form()] = False,
    rustdesk_id_server: Annotated[str, Form(max_length=255)] = "",
    rustdesk_relay_server: Annotated[str, Form(max_length=255)] = "",
    rustdesk_key: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse:
    """Create a scoped installer (``scope`` is ``customer:<id>`` or ``site:<id>``; empty means Unassigned)."""
    kind, _, raw_id = scope.partition(":")
    if scope and (kind not in ("customer", "site") or not raw_id.isdigit() or int(raw_id) > DB_INT_MAX):
        raise ToolError("choose a customer or a site for the installer")
    uses = max_uses.strip()
    if uses and (not uses.isdigit() or int(uses) > DB_INT_MAX):
        raise ToolError("the use limit must be a whole number (leave it empty for no limit)")
    installer = await installers.create_installer(
        session,
        org_id=page.org.id,
        name=name,
        actor=page.caller.actor,
        customer_id=int(raw_id) if kind == "customer" else None,
        site_id=int(raw_id) if kind == "site" else None,
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
        max_uses=int(uses) if uses else None,
        quick_support=quick_support,
        rustdesk=installers.RustDeskOption(rustdesk, rustdesk_id_server, rustdesk_relay_server, rustdesk_key),
    )
    return await _installers_page(page, session, notice=f"Installer {installer.name!r} created.", fresh=installer.id)


@router.post("/admin/rmm/installers/{installer_id}/revoke")
async def revoke_installer(installer_id: Id, page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """Revoke a scoped installer: its commands stop enrolling new devices."""
    installer = await installers.revoke_installer(
        session, org_id=page.org.id, installer_id=installer_id, actor=page.caller.actor
    )
    return await _installers_page(page, session, notice=f"Installer {installer.name!r} revoked.")


@router.post("/admin/rmm/installers/{installer_id}/regenerate")
async def regenerate_installer(installer_id: Id, page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """Give an installer a new token; commands copied before stop working."""
    installer = await installers.regenerate_token(
        session, org_id=page.org.id, installer_id=installer_id, actor=page.caller.actor
    )
    return await _installers_page(
        page, session, notice=f"New token for {installer.name!r}: copy the commands again.", fresh=installer.id
    )


@router.post("/admin/rmm/installers/{installer_id}/rustdesk")
async def set_installer_rustdesk(
    installer_id: Id,
    page: AdminPageDep,
    session: SessionDep,
    rustdesk: Annotated[bool, Form()] = False,
    rustdesk_id_server: Annotated[str, Form(max_length=255)] = "",
    rustdesk_relay_server: Annotated[str, Form(max_length=255)] = "",
    rustdesk_key: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse:
    """Opt an installer in to RustDesk (or out of it) for devices it enrolls from now on."""
    option = installers.RustDeskOption(rustdesk, rustdesk_id_server, rustdesk_relay_server, rustdesk_key)
    installer = await installers.set_rustdesk(
        session, org_id=page.org.id, installer_id=installer_id, option=option, actor=page.caller.actor
    )
    state = "on" if installer.rustdesk_enabled else "off"
    return await _installers_page(page, session, notice=f"RustDesk {state} for {installer.name!r}.", fresh=installer.id)


@router.post("/admin/rmm/agent-updates")
async def save_agent_updates(
    page: AdminPageDep, session: SessionDep, auto_update: Annotated[bool, Form()] = False
) -> HTMLResponse:
    """Turn automatic agent updates on or off (the leader's job runs the update tool through the gate)."""
    saved = await agent_updates.set_settings(session, caller=page.caller, auto_update=auto_update)
    state = "on: outdated agents are updated automatically" if saved.auto_update else "off"
    return await _installers_page(page, session, notice=f"Automatic agent updates {state}.")


def threshold_rows(values: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """``(metric, label, warn, danger)`` per metric, for the thresholds grid."""
    return [
        (m.value, METRIC_LABELS[m], values.get(f"{m.value}_warn"), values.get(f"{m.value}_danger")) for m in MetricName
    ]


@router.get("/admin/rmm/thresholds")
async def thresholds_page(page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """The organisation's warn/danger percentages."""
    current = await threshold_service.get_thresholds(session, page.org.id)
    return render(
        page,
        "admin/rmm_thresholds.html",
        current=current,
        rows=threshold_rows(current.model_dump()),
        errors=[],
        overrides=await customers_with_own_sets(session, org_id=page.org.id),
    )


@router.post("/admin/rmm/thresholds")
async def save_thresholds(request: Request, page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """Validate (``0 < warn < danger <= 100``) and save; errors re-render the form with what was typed."""
    form = await request.form()
    typed = {name: str(form.get(name, "")).strip() for name in Thresholds.model_fields}
    try:
        values = Thresholds.model_validate(typed)
    except ValidationError as exc:
        current = await threshold_service.get_thresholds(session, page.org.id)
        errors = validation_problems(exc, root="thresholds")
        return render(
            page,
            "admin/rmm_thresholds.html",
            current=current,
            rows=threshold_rows(typed),
            errors=errors,
            overrides=await customers_with_own_sets(session, org_id=page.org.id),
            status_code=422,
        )
    saved = await threshold_service.set_thresholds(session, actor=page.caller, values=values)
    return render(
        page,
        "admin/rmm_thresholds.html",
        current=saved,
        rows=threshold_rows(saved.model_dump()),
        errors=[],
        overrides=await customers_with_own_sets(session, org_id=page.org.id),
        notice="Thresholds saved; they apply to the next samples.",
    )
