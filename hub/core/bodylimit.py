"""A cap on request bodies, enforced while they stream in (before anything reads them whole).

:class:`BodyLimitMiddleware` wraps the ASGI ``receive`` channel: a declared ``Content-Length``
over the limit is refused at the first read, and a chunked body is counted as it arrives and
refused as soon as it passes the limit. Either way :class:`BodyTooLarge` (413) is raised from
``receive``; FastAPI lets an ``HTTPException`` raised while reading a body through, so the
app's own handler answers it (JSON or an HTML page). Paths with their own, protocol-specific
caps (the agent API) are left to those.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """The request body is over the hub's limit (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the limit of {limit} bytes")
        self.limit = limit


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes without buffering them.

    Args:
        app: the wrapped ASGI app.
        limit: the largest body accepted, in bytes.
        exempt_prefixes: path prefixes that enforce their own caps.
    """

    def __init__(self, app: ASGIApp, *, limit: int, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > self.limit:
                raise BodyTooLarge(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            # Raised where no handler could answer it (outside the app's exception middleware).
            if started:
                raise
            response = JSONResponse({"status": "error", "message": exc.detail}, status_code=413)
            await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
