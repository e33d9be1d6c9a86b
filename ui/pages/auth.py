"""Sign-in, sign-out and the root redirect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.core.auth.service import authenticate, end_session, start_session
from hub.core.deps import SESSION_COOKIE, OptionalPrincipalDep, PrincipalDep, SessionDep, SettingsDep
from hub.core.routes import set_session_cookie
from hub.core.settings import Settings
from ui import login_csrf
from ui.page import route_exists
from ui.templating import render_string

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """``value`` if it is a local path on this hub, else ``/`` (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return "/"
    if any(ch in value for ch in "\r\n\t"):
        return "/"
    return value


def _login_page(
    settings: Settings, *, next_url: str, error: str = "", username: str = "", status: int = 200
) -> Response:
    nonce = login_csrf.new_nonce()
    html = render_string(
        "auth/login.html",
        csrf_token=login_csrf.form_token(settings.secret, nonce),
        next=next_url,
        error=error,
        username=username,
    )
    response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    login_csrf.set_cookie(response, nonce, secure=settings.cookie_secure)
    return response


@router.get("/")
async def home(request: Request, principal: PrincipalDep) -> RedirectResponse:
    """The RMM dashboard once installed, else the policy dashboard."""
    return RedirectResponse("/rmm" if route_exists(request, "/rmm") else "/policies", status_code=303)


@router.get("/login")
async def login_form(settings: SettingsDep, principal: OptionalPrincipalDep, next: str = "/") -> Response:
    """The sign-in form (already signed-in users go straight on)."""
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(settings, next_url=safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=150)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password (throttled by the auth service) and start a session."""
    next_url = safe_next(next)
    if not login_csrf.valid(settings.secret, request.cookies.get(login_csrf.COOKIE), csrf_token):
        return _login_page(
            settings,
            next_url=next_url,
            username=username,
            status=403,
            error="The sign-in form expired or was not sent from this site. Please sign in again.",
        )
    if not username or not password:
        return _login_page(
            settings, next_url=next_url, username=username, status=400, error="Enter a username and a password."
        )
    ip = request.client.host if request.client else "unknown"
    result = await authenticate(session, username=username, password=password, ip=ip, settings=settings)
    if result.user is None:
        status = 429 if result.throttled else 401
        page = _login_page(settings, next_url=next_url, username=username, status=status, error=result.error)
        if result.retry_after is not None:
            page.headers["Retry-After"] = str(result.retry_after)
        return page
    token, _ = await start_session(
        session, result.user, settings=settings, ip=ip, user_agent=request.headers.get("user-agent")
    )
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, token, secure=settings.cookie_secure, max_age=int(settings.session_ttl_hours * 3600))
    response.delete_cookie(login_csrf.COOKIE, path=login_csrf.COOKIE_PATH)
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, principal: PrincipalDep) -> RedirectResponse:
    """End the session (CSRF-checked like every cookie-authenticated POST) and go to the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await end_session(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
