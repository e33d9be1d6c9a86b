"""A cap on request bodies, enforced while they stream in (before anything reads them whole).

The same pass refuses text carrying NUL characters (``\\u0000`` in JSON, ``%00`` in forms, queries
and paths) with 422: PostgreSQL cannot store them, so without this a request the schema allows
would fail as a server error on one database and be stored on the other.

:class:`BodyLimitMiddleware` wraps the ASGI ``receive`` channel: a declared ``Content-Length``
over the limit is refused at the first read, and a chunked body is counted as it arrives and
refused as soon as it passes the limit. Either way :class:`BodyTooLarge` (413) is raised from
``receive``; FastAPI lets an ``HTTPException`` raised while reading a body through, so the
app's own handler answers it (JSON or an HTML page). Paths with their own, protocol-specific
caps (the agent API) are left to those.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """The request body is over the hub's limit (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the limit of {limit} bytes")
        self.limit = limit


class NulInText(HTTPException):
    """The request carries a NUL character in text (422)."""

    def __init__(self) -> None:
        super().__init__(422, "text must not contain NUL characters (\\u0000 / %00)")


#: ``%00`` in a query, path or form; a ``\\u0000`` escape in JSON (after an even run of backslashes:
#: ``\\\\u0000`` is text). In JSON, ``%00`` is text too.
_URL_NUL = re.compile(rb"%00")
_JSON_NUL = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000", re.IGNORECASE)
#: How much of the previous chunk is kept so a marker split across chunks is still seen.
_MARKER_TAIL = 64


def _has_nul(data: bytes, pattern: re.Pattern[bytes] = _URL_NUL) -> bool:
    return pattern.search(data) is not None


def _body_nul_pattern(scope: Scope) -> re.Pattern[bytes] | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            if b"json" in value:
                return _JSON_NUL
            if b"x-www-form-urlencoded" in value:
                return _URL_NUL
    return None


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
        if _has_nul(scope.get("query_string", b"")) or _has_nul(scope.get("raw_path") or b""):
            await _answer(scope, receive, send, NulInText())
            return
        declared = _content_length(scope)
        nul = _body_nul_pattern(scope)
        received = 0
        tail = b""
        started = False

        async def limited_receive() -> Message:
            nonlocal received, tail
            if declared is not None and declared > self.limit:
                raise BodyTooLarge(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
                if nul is not None and _has_nul(tail + chunk, nul):
                    raise NulInText()
                tail = (tail + chunk)[-_MARKER_TAIL:]
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except (BodyTooLarge, NulInText) as exc:
            # Raised where no handler could answer it (outside the app's exception middleware).
            if started:
                raise
            await _answer(scope, receive, send, exc)


async def _answer(scope: Scope, receive: Receive, send: Send, exc: HTTPException) -> None:
    response = JSONResponse({"status": "error", "message": exc.detail}, status_code=exc.status_code)
    await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
