"""Error pages for browser requests (API clients get JSON from ``hub.main``)."""

from __future__ import annotations

from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse, Response


def wants_html(request: Request) -> bool:
    """Whether the request comes from a browser page rather than an API client or an agent."""
    path = request.url.path
    if path.startswith(("/api/", "/agent/", "/healthz", "/openapi")):
        return False
    if request.headers.get("hx-request"):
        return True
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str) -> Response:
    """A plain error page; htmx requests get just the message fragment."""
    body = f'<div class="flash error" role="alert">{escape(message)}</div>'
    if request.headers.get("hx-request"):
        return HTMLResponse(body, status_code=status, headers={"HX-Reswap": "innerHTML", "HX-Retarget": "#flash"})
    return HTMLResponse(f"<!doctype html><title>Error {status}</title><main>{body}</main>", status_code=status)
