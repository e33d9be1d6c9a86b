"""The error hierarchy of the hub core, documented in one place.

``RmmHubError``
    ``UnknownToolError``      - no such tool in the caller's organisation (404)
    ``ToolArgumentError``     - arguments do not match the tool's JSON schema (422, names the field)
    ``ToolError``             - a handler refused or failed in an expected way (message for the user)
        ``ToolNotFoundError`` - the thing the tool acts on does not exist (e.g. no such device)
    ``PermissionDenied``      - the caller's role is too low (403)
    ``NotFound``              - a record addressed by id does not exist (404)
    ``Conflict``              - a state transition is not allowed now (409)

Anything else is a bug: the last-resort handler (and the gate, for a crashing tool handler) logs
its traceback under an :func:`error_id` and answers with that id only, never the exception text.
"""

from __future__ import annotations

import secrets


def error_id() -> str:
    """A short reference tying an unexpected error's answer to its traceback in the log."""
    return secrets.token_hex(6)


class RmmHubError(Exception):
    """Base of every expected error; ``message`` is safe to show to the user."""

    status_code = 400
    #: Seconds after which trying again may succeed (sent as ``Retry-After``), when the error says so.
    retry_after: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownToolError(RmmHubError):
    """The named tool does not exist (or is not visible to the caller's organisation)."""

    status_code = 404

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class ToolArgumentError(RmmHubError):
    """Arguments failed schema validation. ``path`` is a JSON path such as ``$.device_ids[0]``."""

    status_code = 422

    def __init__(self, tool_id: str, path: str, problem: str) -> None:
        super().__init__(f"invalid arguments for {tool_id} at {path}: {problem}")
        self.tool_id = tool_id
        self.path = path
        self.problem = problem


class ToolError(RmmHubError):
    """A handler could not do what was asked; the message tells the caller what to change."""


class ToolNotFoundError(ToolError):
    """A tool was asked to act on something that does not exist."""

    status_code = 404


class PermissionDenied(RmmHubError):
    """The caller's role does not allow this."""

    status_code = 403


class NotFound(RmmHubError):
    """A record addressed by id does not exist (or belongs to another organisation)."""

    status_code = 404


class Conflict(RmmHubError):
    """The request conflicts with the record's current state."""

    status_code = 409
