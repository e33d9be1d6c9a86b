"""REST API of the ConnectWise RMM connection (admins): connect, status, disconnect, rediscover. Thin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from connectors.connectwise_rmm import service
from connectors.connectwise_rmm.manager import ConnectionManager
from connectors.connectwise_rmm.schemas.integration import (
    ConnectionOut,
    ConnectRequest,
    ConnectResult,
    DisconnectResult,
    DiscoveryResult,
)
from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, HubDep, SessionDep

router = APIRouter(prefix="/api/v1/integrations/connectwise-rmm", tags=["integrations"])


def get_manager(hub: HubDep) -> ConnectionManager:
    """The process's ConnectWise RMM connection manager."""
    return hub.components.get(ConnectionManager)


ManagerDep = Annotated[ConnectionManager, Depends(get_manager)]


@router.post("", response_model=ConnectResult, responses={400: {"model": ConnectResult}})
async def connect(body: ConnectRequest, session: SessionDep, admin: AdminDep, manager: ManagerDep) -> JSONResponse:
    """Authenticate with the Client ID and API key, store them encrypted, register the tools.

    200 ``{"status": "connected", "message", "tools_registered", ...}``; 400 ``{"status": "error",
    "message"}`` with ConnectWise's exact reason, and nothing stored.
    """
    result = await service.connect(
        session,
        manager,
        caller=admin.caller(CallerKind.API),
        client_id=body.client_id,
        client_secret=body.client_secret,
        region=body.region,
    )
    return JSONResponse(result.model_dump(mode="json"), status_code=200 if result.status == "connected" else 400)


@router.get("", response_model=ConnectionOut)
async def get_status(session: SessionDep, admin: AdminDep, manager: ManagerDep) -> ConnectionOut:
    """The connection's status, region, granted scopes and last discovery (never the API key)."""
    return await service.status(session, manager, admin.user.org_id)


@router.delete("", response_model=DisconnectResult)
async def disconnect(session: SessionDep, admin: AdminDep, manager: ManagerDep) -> DisconnectResult:
    """Disconnect: forget the API key, remove every ConnectWise tool, fail their pending approvals."""
    return await service.disconnect(session, manager, caller=admin.caller(CallerKind.API))


@router.post("/rediscover", response_model=DiscoveryResult, responses={502: {"model": DiscoveryResult}})
async def rediscover(session: SessionDep, admin: AdminDep, manager: ManagerDep) -> JSONResponse:
    """Re-list the tenant's shell scripts now: counts of script tools added, updated and removed."""
    caller = admin.caller(CallerKind.API)
    result = await service.rediscover(session, manager, org_id=caller.org_id, actor=caller.actor)
    return JSONResponse(result.model_dump(mode="json"), status_code=200 if result.status == "ok" else 502)
