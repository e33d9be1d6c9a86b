"""Admin -> Checkmk: connect a site (URL, site, automation user and secret), sync now, map hosts.

Sync and mapping are tool invocations through the policy gate (``checkmk-sync-hosts``,
``checkmk-map-host``); connecting is an admin change through the connector's service, like ConnectWise.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from connectors.checkmk import service
from connectors.checkmk.integration import ConnectRequest, HostList, MapResult, SyncResult
from connectors.checkmk.manager import CheckmkManager
from connectors.checkmk.tools import MAP_TOOL, SYNC_TOOL
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.roles import Role
from native_rmm.devices import queries as devices
from policies.deps import GateDep
from policies.outcome import InvocationStatus, Outcome
from ui.page import Page, PageDep, render
from ui.pages.rmm_actions import invoke

router = APIRouter(include_in_schema=False)
FIELDS = ("url", "site", "username", "secret")
HOSTS_SHOWN = 500
DEVICE_CHOICES = 1000


def _manager(page: Page) -> CheckmkManager:
    return page.hub.components.get(CheckmkManager)


async def _page(page: Page, session: DbSession, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    connection = await service.status(session, page.org.id)
    hosts: HostList | None = None
    if connection.configured and connection.status != "disconnected":
        hosts = await service.list_hosts(session, _manager(page), org_id=page.org.id, limit=HOSTS_SHOWN)
    extra.setdefault(
        "values", {"url": connection.url or "", "site": connection.site or "", "username": connection.username or ""}
    )
    extra.setdefault("errors", [])
    return render(
        page,
        "admin/checkmk.html",
        connection=connection,
        hosts=hosts,
        devices=await devices.pick_devices(session, org_id=page.org.id, q="", limit=DEVICE_CHOICES),
        status_code=status_code,
        **extra,
    )


def _failure(outcome: Outcome) -> str | None:
    if outcome.status is InvocationStatus.DONE:
        return None
    if outcome.status is InvocationStatus.PENDING_APPROVAL:
        return f"Approval #{outcome.approval_id} requested: {outcome.message}"
    return outcome.message or outcome.status.value


@router.get("/admin/checkmk")
async def checkmk_page(page: PageDep, session: SessionDep) -> HTMLResponse:
    """The connection, its hosts with their state and device, and the connect form."""
    page.require(Role.ADMIN)
    return await _page(page, session)


@router.post("/admin/checkmk")
async def connect(request: Request, page: PageDep, session: SessionDep) -> HTMLResponse:
    """Connect (or re-connect) the site; bad input is a 422 naming the field, nothing is stored."""
    page.require(Role.ADMIN)
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in FIELDS}
    try:
        body = ConnectRequest.model_validate(values)
    except ValidationError as exc:
        errors = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}".replace("Value error, ", "") for e in exc.errors()
        ]
        return await _page(page, session, values=values | {"secret": ""}, errors=errors, status_code=422)
    result = await service.connect(
        session,
        _manager(page),
        caller=page.caller,
        url=body.url,
        site=body.site,
        username=body.username,
        secret=body.secret,
    )
    if result.status == "error":
        return await _page(
            page, session, values=values | {"secret": ""}, errors=[result.message], status_code=result.http_status
        )
    return await _page(page, session, notice=result.message)


@router.post("/admin/checkmk/sync")
async def sync_now(page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Sync now, through the gate (``checkmk-sync-hosts``); a refused sync says why and changes nothing."""
    page.require(Role.ADMIN)
    outcome = await invoke(page, session, gate, SYNC_TOOL, {})
    failure = _failure(outcome)
    if failure is not None:
        return await _page(page, session, errors=[failure])
    result = outcome.result_as(SyncResult)
    assert result is not None
    if result.status == "error":
        return await _page(page, session, errors=[result.message])
    return await _page(page, session, notice=f"Synced: {result.message}")


@router.post("/admin/checkmk/map")
async def map_host(request: Request, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Map a host to a device, to none, or back to automatic (``checkmk-map-host`` through the gate)."""
    page.require(Role.ADMIN)
    form = await request.form()
    host_name = str(form.get("host_name", "")).strip()
    choice = str(form.get("device", "")).strip()
    args: dict[str, Any] = {"host_name": host_name}
    if choice == "auto":
        args["auto"] = True
    elif choice and choice != "none":
        if not choice.isdigit():
            return await _page(page, session, errors=["device: pick a device from the list"], status_code=422)
        args["device_id"] = int(choice)
    outcome = await invoke(page, session, gate, MAP_TOOL, args)
    failure = _failure(outcome)
    if failure is not None:
        return await _page(page, session, errors=[failure])
    result = outcome.result_as(MapResult)
    assert result is not None
    return await _page(page, session, notice=result.message)


@router.post("/admin/checkmk/disconnect")
async def disconnect(page: PageDep, session: SessionDep) -> HTMLResponse:
    """Forget the secret and the hosts; their alerts resolve."""
    page.require(Role.ADMIN)
    result = await service.disconnect(session, _manager(page), caller=page.caller)
    return await _page(page, session, notice=result.message)
