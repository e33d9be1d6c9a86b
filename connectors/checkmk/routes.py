"""REST API of the Checkmk connection (admins): connect, status, disconnect. Thin.

Syncing and mapping are tools (``POST /api/v1/tools/checkmk:checkmk-sync-hosts/invoke`` and friends),
so they pass the policy gate like every other action.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from connectors.checkmk import service
from connectors.checkmk.integration import ConnectionOut, ConnectRequest, ConnectResult, DisconnectResult
from connectors.checkmk.manager import CheckmkManager
from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, HubDep, SessionDep

router = APIRouter(prefix="/api/v1/integrations/checkmk", tags=["integrations"])


def get_manager(hub: HubDep) -> CheckmkManager:
    """The process's Checkmk manager."""
    return hub.components.get(CheckmkManager)


ManagerDep = Annotated[CheckmkManager, Depends(get_manager)]


@router.post(
    "",
    response_model=ConnectResult,
    responses={
        400: {"model": ConnectResult, "description": "Checkmk refused the credentials or the site"},
        502: {"model": ConnectResult, "description": "Checkmk failed, timed out or was unreachable"},
    },
)
async def connect(body: ConnectRequest, session: SessionDep, admin: AdminDep, manager: ManagerDep) -> JSONResponse:
    """Check the site and automation credentials, store them encrypted, run the first host sync.

    On failure ``{"status": "error", "message"}`` with Checkmk's reason, and nothing stored.
    """
    result = await service.connect(
        session,
        manager,
        caller=admin.caller(CallerKind.API),
        url=body.url,
        site=body.site,
        username=body.username,
        secret=body.secret,
    )
    return JSONResponse(result.model_dump(mode="json"), status_code=result.http_status)


@router.get("", response_model=ConnectionOut)
async def get_status(session: SessionDep, admin: AdminDep) -> ConnectionOut:
    """The connection's status, site, version and last sync (never the secret)."""
    return await service.status(session, admin.user.org_id)


@router.delete("", response_model=DisconnectResult)
async def disconnect(session: SessionDep, admin: AdminDep, manager: ManagerDep) -> DisconnectResult:
    """Disconnect: forget the secret and the hosts, resolve the hosts' alerts."""
    return await service.disconnect(session, manager, caller=admin.caller(CallerKind.API))
