"""The public status page: ``/status/<token>``, no login, nothing but what the admin chose to show.

A wrong, rotated or disabled token gets the same bare 404 (no hint which it was, no lookup for a
malformed one). Every answer carries ``noindex`` (header and meta), ``no-referrer`` so the token
never leaves in a Referer, ``no-store`` so no shared cache keeps it, and the hub's usual security
headers (same-origin CSP, no framing). The page has no script and sets no cookie.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.core.deps import SessionDep
from native_rmm.status_pages import queries
from ui.templating import render_string

router = APIRouter(include_in_schema=False)
#: Headers of every answer under ``/status/`` (found or not).
PUBLIC_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow, noarchive",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NOT_FOUND = "<!doctype html><title>Not found</title><h1>Not found</h1>"


@router.get("/status/{token}")
async def public_status_page(token: str, session: SessionDep) -> HTMLResponse:
    """The page whose URL carries ``token``, or a bare 404."""
    row = await queries.find_page(session, token)
    if row is None:
        return HTMLResponse(NOT_FOUND, status_code=404, headers=PUBLIC_HEADERS)
    view = await queries.public_status(session, row)
    return HTMLResponse(render_string("status/public.html", status=view), headers=PUBLIC_HEADERS)
