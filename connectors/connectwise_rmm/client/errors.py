"""The ConnectWise RMM connector's error hierarchy, documented in one place.

Every failure the client raises is a :class:`ConnectWiseError`::

    ConnectWiseError                  any upstream failure; carries status, message, code, upstream_body
    ├── AuthenticationError           401/403 (after one token re-mint), or the token endpoint refused the key
    ├── KeyLockedError                423: ConnectWise locked the API key for signing in too often
    ├── SignInDeferredError           not sent: the last sign-ins were refused, we wait before the next
    ├── RateLimitedError              429 after the retries were used up
    ├── NotFoundError                 404
    ├── ValidationError               400/422: the request was refused as invalid
    ├── UpstreamUnavailableError      5xx, time-outs and connection errors
    └── ProtocolError                 a response we cannot parse or a pagination loop
        └── PaginationLimitError      more pages than the configured bound

ConnectWise's backend services do not agree on an error body (reference §5). :func:`normalise_error`
turns any of them into one of the classes above, keeping the upstream status, message and code.

What a REST client of the hub sees (:func:`rest_status`): a locked key, a rate limit or a deferred
sign-in is ``503`` with ``Retry-After`` (try again later); ConnectWise failing (5xx), timing out, being
unreachable or answering nonsense is ``502``; a missing resource ``404``; a request ConnectWise
refused as invalid ``400``; the hub's stored key refused ``502`` (the request was fine, the upstream
would not take our credentials).
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx

#: Upstream bodies kept on an error are cut to this many characters (they end up in logs and audit).
MAX_UPSTREAM_BODY_CHARS = 4000

# Keys that carry a human-readable message, in the order we trust them (reference §5, ATLAS's list).
_MESSAGE_PATHS: tuple[tuple[str | int, ...], ...] = (
    ("message",),
    ("error_description",),
    ("description",),
    ("error", "message"),
    ("detail",),
    ("title",),
    ("errors", 0, "message"),
    ("error",),
)
_CODE_PATHS: tuple[tuple[str | int, ...], ...] = (("code",), ("error",), ("type",))


class ConnectWiseError(Exception):
    """Base class of every error the ConnectWise RMM client raises.

    Attributes:
        status: The upstream HTTP status, or ``None`` when no response was received.
        message: The upstream message (or ours when there was none), suitable for an operator.
        code: The upstream error code when the body carried one (``bad_request``, ``access_denied``...).
        upstream_body: The raw upstream body, truncated to ``MAX_UPSTREAM_BODY_CHARS``.
    """

    default_hint: str = ""
    #: Seconds to wait before trying again, when known (locks, rate limits, deferred sign-ins).
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        upstream_body: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.code = code
        self.upstream_body = upstream_body[:MAX_UPSTREAM_BODY_CHARS] if upstream_body is not None else None
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(self._render())

    def _render(self) -> str:
        prefix = f"ConnectWise RMM returned HTTP {self.status}" if self.status is not None else "ConnectWise RMM"
        text = f"{prefix}: {self.message}"
        if self.code and self.code not in self.message:
            text += f" (code {self.code})"
        if self.hint:
            text += f". {self.hint}"
        return text


class AuthenticationError(ConnectWiseError):
    """The credentials, or a scope they need, were refused (401/403 after one re-mint)."""

    default_hint = (
        "Check the Client ID and API key in the ConnectWise RMM connection, and that the key was granted "
        "the scopes this action needs (Asio: Integrations > API Access)"
    )


class KeyLockedError(ConnectWiseError):
    """ConnectWise temporarily locked the API key because it asked for tokens too often (423).

    Attributes:
        retry_after: Seconds until the hub signs in again with this key.
    """

    default_hint = (
        "ConnectWise has temporarily locked this API key because it requested access tokens too often. "
        "Wait several minutes before trying again, and make sure no other system (another hub, script or "
        "integration) signs in with the same Client ID. If the lock persists, generate a new API key in "
        "Asio (Integrations > API Access) and update the connection"
    )

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class SignInDeferredError(ConnectWiseError):
    """Not signed in: recent sign-ins with this Client ID were refused, and the hub waits between tries.

    Attributes:
        retry_after: Seconds until the next sign-in is allowed.
    """

    default_hint = (
        "Check the Client ID, API key and region before trying again; the hub spaces out refused sign-ins "
        "so that ConnectWise does not lock the key"
    )

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class RateLimitedError(ConnectWiseError):
    """Still rate limited (429) after the configured retries.

    Attributes:
        retry_after: Seconds ConnectWise asked us to wait, when it said so.
    """

    default_hint = "ConnectWise is rate limiting this API key; try again in a few minutes or lower the request rate"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class NotFoundError(ConnectWiseError):
    """The resource does not exist, or this key cannot see it (404)."""


class ValidationError(ConnectWiseError):
    """ConnectWise refused the request as invalid (400/422)."""


class UpstreamUnavailableError(ConnectWiseError):
    """ConnectWise failed or could not be reached (5xx, time-out, connection error)."""

    default_hint = "ConnectWise RMM is unavailable or unreachable; try again later"


class ProtocolError(ConnectWiseError):
    """ConnectWise answered with something we cannot interpret."""


class PaginationLimitError(ProtocolError):
    """A listing needed more pages than the configured bound allows."""


def _dig(body: Any, path: tuple[str | int, ...]) -> Any:
    node = body
    for key in path:
        if isinstance(key, int):
            if not isinstance(node, list) or len(node) <= key:
                return None
            node = node[key]
        else:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
    return node


def _first_text(body: Any, paths: tuple[tuple[str | int, ...], ...], *, skip: str | None = None) -> str | None:
    for path in paths:
        value = _dig(body, path)
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value).strip()
            if text and text != skip:
                return text
    return None


def extract_message_and_code(body: Any) -> tuple[str | None, str | None]:
    """Pull ``(message, code)`` out of any of ConnectWise's error-body shapes.

    Handles ``{code, message}`` (devices, automation), ``{id, message, type, error{message}}`` (device groups),
    ``{error{message}}`` (patching), ``{code, description}`` (heartbeat), ``{error, description}`` (custom
    fields), ``[{code, message}, ...]`` (ticketing), OAuth's ``{error, error_description}`` and the
    ``detail``/``title``/``errors[0].message`` variants.

    Args:
        body: The decoded JSON body.

    Returns:
        The message and code, each ``None`` when absent.
    """
    if isinstance(body, list):
        entries = [item for item in body if isinstance(item, dict)]
        messages = [m for m in (_first_text(item, _MESSAGE_PATHS) for item in entries) if m]
        codes = [c for c in (_first_text(item, (("code",),)) for item in entries) if c]
        return ("; ".join(messages) or None, codes[0] if codes else None)
    if not isinstance(body, dict):
        return (str(body) if isinstance(body, str | int | float) and str(body).strip() else None, None)
    message = _first_text(body, _MESSAGE_PATHS)
    code = _first_text(body, _CODE_PATHS, skip=message)
    return message, code


def error_class_for_status(status: int) -> type[ConnectWiseError]:
    """Map an HTTP status to the error class the client raises for it."""
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status in (400, 422):
        return ValidationError
    if status == 423:
        return KeyLockedError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return UpstreamUnavailableError
    return ConnectWiseError


def normalise_error(response: httpx.Response, *, retry_after: float | None = None) -> ConnectWiseError:
    """Turn an error response into the matching :class:`ConnectWiseError`.

    JSON bodies go through :func:`extract_message_and_code`; ``text/plain`` bodies (the automation
    tasks' 401/403, some 429s) become the message verbatim; an empty body falls back to the reason phrase.

    Args:
        response: The non-2xx response (its body must have been read).
        retry_after: For 429s, the delay ConnectWise asked for, if known.

    Returns:
        The error to raise; never raises itself.
    """
    text = response.text
    message: str | None = None
    code: str | None = None
    if text.strip():
        try:
            body = json.loads(text)
        except ValueError:
            message = text.strip()
        else:
            message, code = extract_message_and_code(body)
            if message is None:
                message = text.strip()
    if not message:
        message = response.reason_phrase or f"HTTP {response.status_code}"
    cls = error_class_for_status(response.status_code)
    kwargs: dict[str, Any] = {"status": response.status_code, "code": code, "upstream_body": text or None}
    if cls is RateLimitedError:
        return RateLimitedError(message, retry_after=retry_after, **kwargs)
    if cls is KeyLockedError:
        return KeyLockedError(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)


#: ``Retry-After`` sent when ConnectWise said nothing: a lock lasts minutes, a rate limit less.
DEFAULT_RETRY_AFTER = {423: 300, 429: 60}


def rest_status(exc: ConnectWiseError) -> tuple[int, int | None]:
    """The HTTP status (and ``Retry-After`` seconds, for 503) a REST client of the hub gets for ``exc``."""
    if isinstance(exc, KeyLockedError | RateLimitedError | SignInDeferredError):
        default = DEFAULT_RETRY_AFTER[429 if isinstance(exc, RateLimitedError) else 423]
        return 503, max(1, math.ceil(exc.retry_after)) if exc.retry_after is not None else default
    if isinstance(exc, NotFoundError):
        return 404, None
    if isinstance(exc, ValidationError):
        return 400, None
    return 502, None
