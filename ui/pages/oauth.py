"""The OAuth consent page of the MCP authorization server: the signed-in user allows (or denies) a client."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse, RedirectResponse

from hub.core.deps import SessionDep
from hub.core.security_headers import content_security_policy, csp_nonce
from hub.mcp.oauth import consent_request, decide
from ui.page import PageDep, render

router = APIRouter(include_in_schema=False)

Key = Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/oauth/consent/{key}")
async def consent(key: Key, page: PageDep, session: SessionDep) -> HTMLResponse:
    """Which client asks to act as you, before you allow it."""
    request = await consent_request(session, key)
    response = render(page, "oauth/consent.html", request_=request)
    # The answer redirects to the client: the form may go there (CSP form-action covers redirects too).
    target = urlparse(request.redirect_uri)
    source = f"{target.scheme}://{target.netloc}" if target.netloc else f"{target.scheme}:"
    policy = content_security_policy(csp_nonce()).replace("form-action 'self'", f"form-action 'self' {source}")
    response.headers["content-security-policy"] = policy
    return response


@router.post("/oauth/consent/{key}")
async def answer(
    key: Key, page: PageDep, session: SessionDep, decision: Annotated[Literal["allow", "deny"], Form()]
) -> RedirectResponse:
    """Send the browser back to the client with a code (allow) or ``access_denied``."""
    target = await decide(session, key, user_id=page.user.id, allow=decision == "allow")
    return RedirectResponse(target, status_code=303)
