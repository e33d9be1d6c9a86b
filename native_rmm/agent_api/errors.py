"""Every failure of ``/agent/v1`` answers an :class:`agent.protocol.AgentApiError` JSON body.

:class:`AgentRoute` is the route class of the agent router: it turns :class:`AgentRequestError`,
an unsupported protocol version (426), a back-pressured ingest queue (503) and any other
:class:`hub.core.errors.RmmHubError` into that body, so agents never see the operator API's
error shape. The unit of work has rolled back by then: a refused request stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agent.protocol import (
    PROTOCOL_HEADER,
    AgentApiError,
    ErrorCode,
    UnsupportedProtocolVersion,
    unsupported_protocol_error,
)
from hub.core.errors import RmmHubError
from native_rmm.errors import AgentRequestError
from native_rmm.ingest.writer import IngestBusy

log = logging.getLogger(__name__)
STATUS_CODES = {
    400: ErrorCode.MALFORMED_PAYLOAD,
    401: ErrorCode.INVALID_CREDENTIAL,
    404: ErrorCode.UNKNOWN_COMMAND,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
}


def error_response(status: int, error: AgentApiError, *, version: int | None = None) -> JSONResponse:
    """The HTTP answer for ``error``."""
    headers = {PROTOCOL_HEADER: str(version)} if version is not None else None
    return JSONResponse(error.model_dump(mode="json", exclude_none=True), status_code=status, headers=headers)


def to_response(exc: Exception) -> Response | None:
    """The agent-shaped answer for an expected exception, or None for a bug."""
    if isinstance(exc, AgentRequestError):
        return error_response(exc.status_code, AgentApiError(code=exc.code, message=exc.message, detail=exc.detail))
    if isinstance(exc, UnsupportedProtocolVersion):
        return error_response(426, unsupported_protocol_error(exc))
    if isinstance(exc, IngestBusy):
        return error_response(503, AgentApiError(code=ErrorCode.INTERNAL, message=str(exc)))
    if isinstance(exc, RmmHubError):
        code = STATUS_CODES.get(exc.status_code, ErrorCode.MALFORMED_PAYLOAD)
        return error_response(exc.status_code, AgentApiError(code=code, message=exc.message[:4096]))
    return None


class AgentRoute(APIRoute):
    """An API route whose expected errors become :class:`AgentApiError` bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except (RmmHubError, UnsupportedProtocolVersion, IngestBusy) as exc:
                response = to_response(exc)
                assert response is not None
                return response

        return route
