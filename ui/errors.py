"""Error pages for browser requests (API clients get JSON from ``hub.main``)."""

from __future__ import annotations

from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from ui.templating import render_string

TITLES = {
    400: "Bad request",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    422: "Invalid input",
    429: "Too many attempts",
}


def wants_html(request: Request) -> bool:
    """Whether the request comes from a browser page rather than an API client or an agent."""
    path = request.url.path
    if path.startswith(("/api/", "/agent/", "/healthz", "/openapi")):
        return False
    if request.headers.get("hx-request"):
        return True
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str) -> Response:
    """The error in the page layout; htmx requests get just the message, swapped into ``#flash``."""
    if request.headers.get("hx-request"):
        body = f'<div class="flash error" role="alert">{escape(message)}</div>'
        return HTMLResponse(body, status_code=status, headers={"HX-Reswap": "innerHTML", "HX-Retarget": "#flash"})
    page = getattr(request.state, "page", None)
    html = render_string(
        "error.html", page=page, status=status, title=TITLES.get(status, "Something went wrong"), message=message
    )
    return HTMLResponse(html, status_code=status)
