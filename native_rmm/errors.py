"""Errors of the agent-facing side, each carrying its :class:`agent.protocol.ErrorCode`.

``AgentRequestError`` (a :class:`hub.core.errors.RmmHubError`) is what services raise for an
agent; :mod:`native_rmm.agent_api.errors` renders it as an :class:`agent.protocol.AgentApiError`
body with its HTTP status. Operator-facing services raise the hub's own errors
(``NotFound``, ``Conflict``, ``ToolError``...).
"""

from __future__ import annotations

from agent.protocol import ErrorCode
from hub.core.errors import RmmHubError


class AgentRequestError(RmmHubError):
    """An agent request refused with ``code`` and an HTTP ``status_code``."""

    def __init__(self, status_code: int, code: ErrorCode, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.detail = detail


def malformed(message: str, *, detail: str | None = None) -> AgentRequestError:
    """400 ``malformed_payload``."""
    return AgentRequestError(400, ErrorCode.MALFORMED_PAYLOAD, message, detail=detail)


def too_large(size: int, limit: int) -> AgentRequestError:
    """413 ``payload_too_large``."""
    return AgentRequestError(
        413, ErrorCode.PAYLOAD_TOO_LARGE, f"the body is {size} bytes or more; the limit here is {limit} bytes"
    )


def invalid_credential(
    message: str = "the device credential is unknown, revoked or expired; re-enroll the agent",
) -> AgentRequestError:
    """401 ``invalid_credential``."""
    return AgentRequestError(401, ErrorCode.INVALID_CREDENTIAL, message)


def unknown_command(uid: str) -> AgentRequestError:
    """404 ``unknown_command``: the agent drops that result."""
    return AgentRequestError(404, ErrorCode.UNKNOWN_COMMAND, f"command {uid} is not a command of this device")
