"""Security headers on every response: a same-origin Content-Security-Policy, no framing, no sniffing.

The policy allows scripts, styles, images, fonts and connections (fetch, EventSource, WebSocket) from
the hub's own origin only. Pages carry no inline script, inline style or ``on…=`` handler: behaviour
lives in ``ui/static`` and htmx's indicator styles are in ``app.css`` (``includeIndicatorStyles`` is
off). Should a full page ever need an inline ``<script>``/``<style>``, it gives it
``nonce="{{ csp_nonce() }}"``: each response has its own nonce, which the policy names.

``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` stop the approvals page (and every other)
from being framed by another site; HSTS is sent when the public URL is https.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_nonce: ContextVar[str] = ContextVar("csp_nonce", default="")

HSTS = "max-age=31536000"


def csp_nonce() -> str:
    """The nonce of the response being built (empty outside a request)."""
    return _nonce.get()


def content_security_policy(nonce: str, connect: str = "") -> str:
    """The policy for one response (``connect``: further origins pages may open sockets to, e.g. the relay)."""
    own = f"'self' 'nonce-{nonce}'"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {own}",
            f"style-src {own}",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {connect}".rstrip(),
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    """Pure ASGI middleware adding the headers to every HTTP response (a handler's own value wins)."""

    def __init__(self, app: ASGIApp, *, hsts: bool, connect: Callable[[], str] | None = None) -> None:
        self.app = app
        self.hsts = hsts
        self.connect = connect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        token = _nonce.set(nonce)
        extra = [
            (
                b"content-security-policy",
                content_security_policy(nonce, self.connect() if self.connect else "").encode(),
            ),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if self.hsts:
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in extra if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            _nonce.reset(token)
