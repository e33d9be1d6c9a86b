"""Core REST endpoints: health, sign-in for API clients, the current user, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, text

from hub import __version__
from hub.core import audit
from hub.core.audit import AuditEntry
from hub.core.auth.service import authenticate, end_session, start_session
from hub.core.bounds import Id
from hub.core.deps import SESSION_COOKIE, AdminDep, HubDep, PrincipalDep, SessionDep, SettingsDep
from hub.core.events import BusState

router = APIRouter()


class Health(BaseModel):
    """Answer of ``GET /healthz``."""

    status: Literal["ok", "degraded"]
    database: str
    bus: BusState
    version: str


@router.get("/healthz", response_model=Health, tags=["health"])
async def healthz(hub: HubDep) -> Health:
    """Liveness, database reachability and the event bus: ``degraded`` while Redis is disconnected.

    A degraded replica still serves its own agents and users (commands reach its sockets at the
    next check-in at the latest), so the answer stays 200; monitoring alerts on ``status``.
    """
    async with hub.db.sessionmaker() as session:
        await session.execute(text("SELECT 1"))
    bus = hub.bus.state
    status: Literal["ok", "degraded"] = "degraded" if bus is BusState.DISCONNECTED else "ok"
    return Health(status=status, database=hub.db.dialect, bus=bus, version=__version__)


class LoginRequest(BaseModel):
    """Body of ``POST /api/v1/auth/login``."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1000)


class Me(BaseModel):
    """The signed-in user."""

    id: int
    username: str
    display_name: str
    role: str
    org_id: Id
    csrf_token: str


@router.post("/api/v1/auth/login", response_model=Me, tags=["auth"])
async def api_login(body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign in with a password; sets the session cookie and returns the CSRF token to send back."""
    ip = request.client.host if request.client else "unknown"
    result = await authenticate(session, username=body.username, password=body.password, ip=ip, settings=settings)
    if result.retry_after is not None:
        refused = {"status": "error", "message": result.error}
        return JSONResponse(refused, status_code=429, headers={"Retry-After": str(result.retry_after)})
    if result.user is None:
        return JSONResponse({"status": "error", "message": result.error}, status_code=401)
    token, web = await start_session(
        session, result.user, settings=settings, ip=ip, user_agent=request.headers.get("user-agent")
    )
    user = result.user
    me = Me(
        id=user.id,
        username=user.username,
        display_name=user.label,
        role=user.role.value,
        org_id=user.org_id,
        csrf_token=web.csrf_token,
    )
    response = JSONResponse(me.model_dump())
    set_session_cookie(response, token, secure=settings.cookie_secure, max_age=int(settings.session_ttl_hours * 3600))
    return response


def set_session_cookie(response: Response, token: str, *, secure: bool, max_age: int) -> None:
    """Attach the session cookie: HttpOnly, SameSite=Lax, Secure unless disabled for plain-HTTP dev."""
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=secure, samesite="lax", path="/")


@router.post("/api/v1/auth/logout", status_code=204, tags=["auth"])
async def api_logout(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """End the current session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await end_session(session, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api/v1/me", response_model=Me, tags=["auth"])
async def me(principal: PrincipalDep) -> Me:
    """Who am I."""
    user = principal.user
    return Me(
        id=user.id,
        username=user.username,
        display_name=user.label,
        role=user.role.value,
        org_id=user.org_id,
        csrf_token=principal.csrf_token,
    )


class AuditOut(BaseModel):
    """One audit entry."""

    id: int
    seq: int | None
    at: datetime
    actor: str
    via: str
    event: str
    tool: str | None
    approval_id: Id | None
    args_sha256: str | None
    outcome: str
    detail: Any
    hash: str | None


@router.get("/api/v1/audit", response_model=list[AuditOut], tags=["audit"])
async def list_audit(
    session: SessionDep,
    principal: PrincipalDep,
    tool: str | None = None,
    event: str | None = None,
    before_id: Id | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AuditOut]:
    """Audit entries of the caller's organisation, newest first."""
    stmt = select(AuditEntry).where(AuditEntry.org_id == principal.user.org_id)
    if tool:
        stmt = stmt.where(AuditEntry.tool_id == tool)
    if event:
        stmt = stmt.where(AuditEntry.event == event)
    if before_id:
        stmt = stmt.where(AuditEntry.id < before_id)
    rows = (await session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit))).scalars().all()
    return [
        AuditOut(
            id=r.id,
            seq=r.seq,
            at=r.at,
            actor=r.actor_label,
            via=r.via,
            event=r.event,
            tool=r.tool_id,
            approval_id=r.approval_id,
            args_sha256=r.args_sha256,
            outcome=r.outcome,
            detail=r.detail,
            hash=r.hash,
        )
        for r in rows
    ]


class VerifyOut(BaseModel):
    """Answer of ``GET /api/v1/audit/verify``."""

    ok: bool
    checked: int
    unsealed: int
    first_bad_seq: int | None
    problem: str
    checkpoint_seq: int | None = Field(description="seq of the latest signed checkpoint in the witness file")


@router.get("/api/v1/audit/verify", response_model=VerifyOut, tags=["audit"])
async def verify_audit(session: SessionDep, admin: AdminDep, settings: SettingsDep) -> VerifyOut:
    """Recompute the audit hash chain and compare it with the latest signed checkpoint (admin; read-only)."""
    report = await audit.verify_against_witness(session, settings)
    return VerifyOut(**report.__dict__)
