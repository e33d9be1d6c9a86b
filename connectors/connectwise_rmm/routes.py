"""REST API of the ConnectWise RMM connection (admins): connect, status, disconnect, rediscover. Thin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from connectors.connectwise_rmm import service
from connectors.connectwise_rmm.integration import (
    ConnectionOut,
    ConnectRequest,
    ConnectResult,
    DisconnectResult,
    DiscoveryResult,
)
from connectors.connectwise_rmm.manager import ConnectionManager
from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, HubDep, SessionDep

router = APIRouter(prefix="/api/v1/integrations/connectwise-rmm", tags=["integrations"])


def get_manager(hub: HubDep) -> ConnectionManager:
    """The process's ConnectWise RMM connection manager."""
    return hub.components.get(ConnectionManager)


ManagerDep = Annotated[ConnectionManager, Depends(get_manager)]


def _answer(result: ConnectResult | DiscoveryResult) -> JSONResponse:
    headers = {"Retry-After": str(result.retry_after)} if result.retry_after is not None else None
    return JSONResponse(result.model_dump(mode="json"), status_code=result.http_status, headers=headers)


UPSTREAM_FAILURES: dict[int | str, dict[str, Any]] = {
    502: {"model": ConnectResult, "description": "ConnectWise failed, timed out or was unreachable"},
    503: {"model": ConnectResult, "description": "ConnectWise locked or rate-limited the key; see Retry-After"},
}


@router.post("", response_model=ConnectResult, responses={400: {"model": ConnectResult}, **UPSTREAM_FAILURES})
async def connect(body: ConnectRequest, session: SessionDep, admin: AdminDep, manager: ManagerDep) -> JSONResponse:
    """Authenticate with the Client ID and API key, store them encrypted, register the tools.

    200 ``{"status": "connected", "message", "tools_registered", ...}``; on failure ``{"status": "error",
    "message"}`` with ConnectWise's exact reason, and nothing stored: 400 when the credentials were refused,
    503 with ``Retry-After`` when the key is locked or rate-limited (no token is requested during a lock),
    502 when ConnectWise failed, timed out or could not be reached.
    """
    result = await service.connect(
        session,
        manager,
        caller=admin.caller(CallerKind.API),
        client_id=body.client_id,
        client_secret=body.client_secret,
        region=body.region,
    )
    return _answer(result)


@router.get("", response_model=ConnectionOut)
async def get_status(session: SessionDep, admin: AdminDep, manager: ManagerDep) -> ConnectionOut:
    """The connection's status, region, granted scopes and last discovery (never the API key)."""
    return await service.status(session, manager, admin.user.org_id)


@router.delete("", response_model=DisconnectResult)
async def disconnect(session: SessionDep, admin: AdminDep, manager: ManagerDep) -> DisconnectResult:
    """Disconnect: forget the API key, remove every ConnectWise tool, fail their pending approvals."""
    return await service.disconnect(session, manager, caller=admin.caller(CallerKind.API))


@router.post(
    "/rediscover",
    response_model=DiscoveryResult,
    responses={
        502: {"model": DiscoveryResult, "description": "ConnectWise refused, failed or was unreachable"},
        503: {"model": DiscoveryResult, "description": "ConnectWise locked or rate-limited the key; see Retry-After"},
    },
)
async def rediscover(session: SessionDep, admin: AdminDep, manager: ManagerDep) -> JSONResponse:
    """Re-list the tenant's shell scripts now: counts of script tools added, updated and removed."""
    caller = admin.caller(CallerKind.API)
    result = await service.rediscover(session, manager, org_id=caller.org_id, actor=caller.actor)
    return _answer(result)
