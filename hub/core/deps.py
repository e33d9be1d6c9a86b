"""FastAPI dependencies: the unit of work, the signed-in principal, CSRF and role gates.

Authentication order: ``Authorization: Bearer <api token>``, then the session cookie. Cookie-
authenticated unsafe requests (POST/PUT/PATCH/DELETE) must carry the session's CSRF token in the
``X-CSRF-Token`` header or a ``csrf_token`` form field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from hub.core.auth.service import session_for_token, user_for_api_token
from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.errors import PermissionDenied
from hub.core.models import User, WebSession
from hub.core.roles import Role
from hub.core.security import constant_time_equals
from hub.core.settings import Settings

SESSION_COOKIE = "rmmhub_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotAuthenticated(Exception):
    """No valid session or token; pages redirect to /login, the API answers 401."""


class CsrfFailed(Exception):
    """A cookie-authenticated unsafe request without the right CSRF token."""


def hub_of(connection: HTTPConnection) -> HubContext:
    """The :class:`HubContext` of the app serving ``connection`` (an HTTP request or a WebSocket)."""
    hub: HubContext = connection.app.state.hub
    return hub


def get_hub(request: Request) -> HubContext:
    """The process's :class:`HubContext`."""
    return hub_of(request)


HubDep = Annotated[HubContext, Depends(get_hub)]


def get_settings_dep(hub: HubDep) -> Settings:
    """The hub settings."""
    return hub.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def db_session(hub: HubDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed before the response is sent, rolled back on error."""
    async with hub.db.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(db_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    """The signed-in user and how they authenticated (``web`` is None for API tokens)."""

    user: User
    web: WebSession | None

    @property
    def csrf_token(self) -> str:
        """The CSRF token to embed in pages (empty for token clients)."""
        return self.web.csrf_token if self.web else ""

    def caller(self, kind: CallerKind) -> Caller:
        """This principal as a pipeline caller coming through ``kind``."""
        return Caller(
            user_id=self.user.id, label=self.user.label, role=self.user.role, org_id=self.user.org_id, kind=kind
        )


async def _principal_or_none(request: Request, session: AsyncSession) -> Principal | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = await user_for_api_token(session, auth[7:].strip())
        if user is None:
            raise NotAuthenticated("the API token is unknown, revoked or expired")
        return Principal(user=user, web=None)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    web = await session_for_token(session, token)
    if web is None:
        return None
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else ""
        if not sent or not constant_time_equals(sent, web.csrf_token):
            raise CsrfFailed("missing or wrong CSRF token; reload the page and try again")
    return Principal(user=web.user, web=web)


async def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    """The signed-in principal, or None (for pages such as /login)."""
    return await _principal_or_none(request, session)


async def current_principal(request: Request, session: SessionDep) -> Principal:
    """The signed-in principal; raises :class:`NotAuthenticated` otherwise."""
    principal = await _principal_or_none(request, session)
    if principal is None:
        raise NotAuthenticated("sign in first")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]


def api_caller(principal: PrincipalDep) -> Caller:
    """The caller for REST API requests."""
    return principal.caller(CallerKind.API)


def ui_caller(principal: PrincipalDep) -> Caller:
    """The caller for web UI actions."""
    return principal.caller(CallerKind.UI)


ApiCallerDep = Annotated[Caller, Depends(api_caller)]
UiCallerDep = Annotated[Caller, Depends(ui_caller)]


def require_role(role: Role) -> object:
    """A dependency refusing principals below ``role`` with 403."""

    def _check(principal: PrincipalDep) -> Principal:
        if not principal.user.role.at_least(role):
            raise PermissionDenied(f"this needs the {role.value} role or above; you are {principal.user.role.value}")
        return principal

    return Depends(_check)


AdminDep = Annotated[Principal, require_role(Role.ADMIN)]
ApproverDep = Annotated[Principal, require_role(Role.APPROVER)]
OperatorDep = Annotated[Principal, require_role(Role.OPERATOR)]
