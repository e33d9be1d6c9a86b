"""Short-lived signed tickets for remote sessions: minted by the hub, checked by the relay.

A ticket names the session, the role of the holder (agent, controller or viewer), the relay node
both ends dial, and an expiry. It is ``base64url(payload).base64url(hmac_sha256(payload))`` with a
key derived from the hub secret, so a standalone relay that shares the secret checks it without a
database. Single use is the relay's job (it remembers every nonce it accepted until its expiry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_TTL_SECONDS = 60
_KEY_LABEL = b"rmmhub-relay-ticket-v1"


class TicketRole(StrEnum):
    """Who holds the ticket: the endpoint agent, a browser that may type, or one that may only watch."""

    AGENT = "agent"
    CONTROLLER = "controller"
    VIEWER = "viewer"


class SessionKind(StrEnum):
    """What the agent bridges for the session."""

    SHELL = "shell"
    SCREEN = "screen"
    FILES = "files"


class TicketError(ValueError):
    """A ticket is malformed, forged or expired (the message says which, never the key)."""


class Ticket(BaseModel):
    """The signed claims of one ticket."""

    model_config = ConfigDict(frozen=True)

    session: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    role: TicketRole
    kind: SessionKind
    relay: str = Field(min_length=1, max_length=512, description="ws(s):// URL of the relay node to dial")
    expires: int = Field(description="Unix time after which the relay refuses the ticket")
    nonce: str = Field(min_length=16, max_length=64)
    user: str = Field(default="", max_length=150, description="Who the ticket was minted for")
    consent: bool = Field(default=False, description="the end user must accept the connection (privacy mode)")


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(
    secret: str,
    *,
    session: str,
    role: TicketRole,
    kind: SessionKind,
    relay: str,
    user: str = "",
    consent: bool = False,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """Sign a new single-use ticket valid for ``ttl_seconds``."""
    claims = Ticket(
        session=session,
        role=role,
        kind=kind,
        relay=relay,
        user=user,
        consent=consent,
        expires=int((time.time() if now is None else now) + ttl_seconds),
        nonce=secrets.token_urlsafe(18),
    )
    payload = claims.model_dump_json().encode()
    signature = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def verify(secret: str, token: str, *, now: float | None = None) -> Ticket:
    """Return the claims of a genuine, unexpired ticket or raise :class:`TicketError`."""
    if len(token) > 4096 or token.count(".") != 1:
        raise TicketError("malformed ticket")
    body, sig = token.split(".")
    try:
        payload, signature = _unb64(body), _unb64(sig)
    except ValueError as exc:
        raise TicketError("malformed ticket") from exc
    expected = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise TicketError("ticket signature does not match")
    try:
        claims = Ticket.model_validate_json(payload)
    except ValidationError as exc:
        raise TicketError("malformed ticket") from exc
    if claims.expires < (time.time() if now is None else now):
        raise TicketError("ticket expired: ask the hub for a new one")
    return claims


def new_session_id() -> str:
    """A fresh unguessable session id (128 bits)."""
    return secrets.token_urlsafe(16)


class SessionEventKind(StrEnum):
    """What a relay reports about a session (the hub stores the trail)."""

    OPENED = "opened"
    VIEWER_JOINED = "viewer-joined"
    VIEWER_LEFT = "viewer-left"
    VIEWER_REFUSED = "viewer-refused"
    CONSENT_GIVEN = "consent-given"
    CONSENT_DECLINED = "consent-declined"
    VIEW_ONLY_TOGGLED = "view-only-toggled"
    ELEVATION_USED = "elevation-used"
    FILE_TRANSFERRED = "file-transferred"
    AGENT_LOST = "agent-lost"
    AGENT_RESUMED = "agent-resumed"
    IDLE_WARNING = "idle-warning"
    ENDED = "ended"


class SessionEvent(BaseModel):
    """One entry of a session's event trail, as the relay reports it to the hub."""

    session: str = Field(min_length=8, max_length=64)
    kind: SessionEventKind
    at: float
    user: str = Field(default="", max_length=150)
    role: TicketRole | None = None
    viewers: int = Field(default=0, ge=0, le=4)
    detail: str = Field(default="", max_length=500)
    data: dict[str, str | int | bool] = Field(default_factory=dict, description="e.g. a transfer's name, size, sha256")


class SessionEventBatch(BaseModel):
    """Events a relay node reports in one go (on the bus, or posted by a standalone relay)."""

    events: list[SessionEvent] = Field(max_length=1000)


@dataclass(frozen=True)
class RemoteEventSink:
    """The hub's recorder of relay reports: the native RMM adds one to the hub's components, an embedded
    relay node hands its batches to it, and standalone nodes post theirs to ``/relay/v1/events``."""

    deliver: Callable[[list[SessionEvent]], Awaitable[int]]


def sign_events(secret: str, body: bytes) -> str:
    """HMAC a batch of events a standalone relay posts to the hub."""
    return hmac.new(_key(secret), b"events:" + body, hashlib.sha256).hexdigest()


class TransferDirection(StrEnum):
    """Which way a file moves: from the device to the browser, or from the browser to the device."""

    DOWNLOAD = "download"
    UPLOAD = "upload"


class TransferGrant(BaseModel):
    """The gate's permission for one file transfer in one files session (``rmm-transfer-file`` mints it).

    The relay checks it before the agent sees the request, so no transfer happens around the gate.
    """

    model_config = ConfigDict(frozen=True)

    session: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    direction: TransferDirection
    path: str = Field(min_length=1, max_length=4096)
    expires: int
    nonce: str = Field(min_length=16, max_length=64)


_GRANT_LABEL = b"transfer:"


def mint_grant(secret: str, *, session: str, direction: TransferDirection, path: str, ttl_seconds: int = 120) -> str:
    """Sign a single-use transfer grant."""
    grant = TransferGrant(
        session=session, direction=direction, path=path, expires=int(time.time() + ttl_seconds),
        nonce=secrets.token_urlsafe(18),
    )  # fmt: skip
    payload = grant.model_dump_json().encode()
    signature = hmac.new(_key(secret), _GRANT_LABEL + payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def verify_grant(secret: str, token: str) -> TransferGrant:
    """The claims of a genuine, unexpired grant, or :class:`TicketError`."""
    if len(token) > 8192 or token.count(".") != 1:
        raise TicketError("malformed transfer grant")
    body, sig = token.split(".")
    try:
        payload, signature = _unb64(body), _unb64(sig)
    except ValueError as exc:
        raise TicketError("malformed transfer grant") from exc
    expected = hmac.new(_key(secret), _GRANT_LABEL + payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise TicketError("transfer grant signature does not match")
    try:
        grant = TransferGrant.model_validate_json(payload)
    except ValidationError as exc:
        raise TicketError("malformed transfer grant") from exc
    if grant.expires < time.time():
        raise TicketError("transfer grant expired: ask again")
    return grant
