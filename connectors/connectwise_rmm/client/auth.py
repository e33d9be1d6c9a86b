"""OAuth2 client-credentials tokens for the ConnectWise partner API (reference §1.1-1.2).

``POST {base}/v1/token`` takes a **JSON** body (``grant_type``, ``client_id``, ``client_secret``,
``scope``) rather than the form encoding authlib's clients send, so the token is minted with a plain
request through the connection's own sender and kept in authlib's :class:`OAuth2Token` for expiry.

ConnectWise locks a key (HTTP 423) that asks for many tokens, so each connection keeps exactly one
token, shared by every concurrent call behind an ``asyncio.Lock``: it is minted once, re-minted
shortly before it expires, and re-minted once when a call comes back 401 -- never per request.
After a 423 no client signs in again with the same (API host, Client ID) for ``lock_cooldown``
seconds (or ConnectWise's ``Retry-After``, if longer), and refused sign-ins back off: both are kept in
:mod:`~connectors.connectwise_rmm.client.signin`, not on this object, so a reconnect (a new client) during
the lock makes no token request and cannot extend it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import httpx
from authlib.oauth2.rfc6749 import OAuth2Token
from pydantic import BaseModel, ConfigDict, SecretStr
from pydantic import ValidationError as PydanticValidationError

from connectors.connectwise_rmm.client.errors import (
    AuthenticationError,
    ProtocolError,
    normalise_error,
)
from connectors.connectwise_rmm.client.retry import parse_retry_after
from connectors.connectwise_rmm.client.signin import DEFAULT_LOCK_COOLDOWN, SIGN_IN_GUARD, SignInGuard

logger = logging.getLogger(__name__)

TOKEN_PATH = "/v1/token"

#: Scopes the connector's client methods use (reference §1.2, inferred mapping). A key must be granted
#: every scope it asks for, so a connection whose key lacks one should pass a narrower set.
DEFAULT_SCOPES: tuple[str, ...] = (
    "platform.companies.read",
    "platform.sites.read",
    "platform.devices.read",
    "platform.deviceGroups.read",
    "platform.patching.read",
    "platform.automation.read",
    "platform.automation.create",
    "platform.tickets.read",
    "platform.tickets.create",
)

#: Lifetime assumed when the token response omits ``expires_in`` (as ATLAS and IMMY do).
DEFAULT_EXPIRES_IN = 3600
#: Re-mint this long before expiry at most...
MAX_REFRESH_LEEWAY = 60
#: ...and at most this fraction of the lifetime (short-lived tokens are not re-minted constantly).
REFRESH_LEEWAY_FRACTION = 0.2

SendFunc = Callable[[httpx.Request], Awaitable[httpx.Response]]


class TokenResponse(BaseModel):
    """The ``/v1/token`` answer: ``{access_token, token_type, expires_in, scope}``; no refresh token."""

    model_config = ConfigDict(extra="ignore")

    access_token: SecretStr
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None


class TokenManager:
    """Mints and caches the one access token of a ConnectWise connection.

    Args:
        base_url: The region's API host.
        client_id: The Asio Client ID.
        client_secret: The Asio API key; never logged nor shown in a repr.
        scopes: Scopes to request, joined with spaces. An empty sequence leaves ``scope`` out of the body
            (two public scripts do; whether that yields every granted scope is undocumented).
        send: Sends a request with the connection's pacing and 429/503 retries (not auth).
        lock_cooldown: Seconds to refuse signing in after ConnectWise answered 423.
        guard: Where lock cool-downs and sign-in back-off are kept (the process-wide one by default).
    """

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: SecretStr,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        send: SendFunc,
        lock_cooldown: float = DEFAULT_LOCK_COOLDOWN,
        guard: SignInGuard | None = None,
    ) -> None:
        self._token_url = base_url.rstrip("/") + TOKEN_PATH
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = tuple(scopes)
        self._send = send
        self._lock_cooldown = lock_cooldown
        self._guard = guard or SIGN_IN_GUARD
        self._guard_key = SignInGuard.key(base_url, client_id)
        self._lock = asyncio.Lock()
        self._token: OAuth2Token | None = None
        self._leeway = MAX_REFRESH_LEEWAY
        self.mint_count = 0

    def __repr__(self) -> str:
        state = "cached" if self._token is not None else "none"
        return f"TokenManager(client_id={self.client_id!r}, scopes={len(self.scopes)}, token={state})"

    @property
    def token(self) -> OAuth2Token | None:
        """The cached token, if any (includes ``expires_at``)."""
        return self._token

    def _usable(self) -> str | None:
        token = self._token
        if token is None or token.is_expired(leeway=self._leeway):
            return None
        access: str = token["access_token"]
        return access

    async def get_token(self) -> str:
        """Return a valid access token, minting one only when none is cached or it is about to expire.

        Raises:
            AuthenticationError: The key or a requested scope was refused.
            KeyLockedError: ConnectWise locked the key (now, or within the cool-down).
            SignInDeferredError: Recent sign-ins were refused; waiting before the next one.
        """
        access = self._usable()
        if access is not None:
            return access
        async with self._lock:
            access = self._usable()
            if access is not None:
                return access
            return await self._mint()

    async def refresh_after_unauthorized(self, rejected: str) -> str:
        """Re-mint after a 401, unless a concurrent caller already replaced the rejected token.

        Args:
            rejected: The access token the 401 answered.

        Returns:
            A token different from ``rejected``.
        """
        async with self._lock:
            current = self._token["access_token"] if self._token is not None else None
            if current is not None and current != rejected and self._usable() is not None:
                return str(current)
            logger.info("ConnectWise answered 401; re-minting the token for client %s", self.client_id)
            return await self._mint()

    async def authenticate(self) -> OAuth2Token:
        """Mint a fresh token now (used when credentials are saved, to prove they work)."""
        async with self._lock:
            await self._mint()
            assert self._token is not None
            return self._token

    def _body(self) -> dict[str, str]:
        body = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret.get_secret_value(),
        }
        if self.scopes:
            body["scope"] = " ".join(self.scopes)
        return body

    async def _mint(self) -> str:
        self._guard.check(self._guard_key)
        request = httpx.Request(
            "POST",
            self._token_url,
            json=self._body(),
            headers={"Accept": "application/json"},
        )
        response = await self._send(request)
        await response.aread()
        if response.status_code == 423:
            asked = parse_retry_after(response.headers.get("Retry-After"))
            cooldown = self._guard.locked(self._guard_key, retry_after=asked, cooldown=self._lock_cooldown)
            self._token = None
            logger.warning("ConnectWise locked client %s; no sign-in for %.0fs", self.client_id, cooldown)
            raise normalise_error(response, retry_after=cooldown)
        if response.status_code in (400, 401, 403):
            self._guard.refused(self._guard_key)
            upstream = normalise_error(response)
            raise AuthenticationError(
                f"the token request was refused ({upstream.message})",
                status=response.status_code,
                code=upstream.code,
                upstream_body=upstream.upstream_body,
                hint=(
                    "Check the Client ID and API key, the region, and that the key was granted these scopes: "
                    + (" ".join(self.scopes) or "(none requested)")
                ),
            )
        if response.is_error:
            raise normalise_error(response)
        self._token, self._leeway = _parse_token(response)
        self._guard.succeeded(self._guard_key)
        self.mint_count += 1
        logger.info(
            "minted a ConnectWise token for client %s (expires in %ss)",
            self.client_id,
            self._token.get("expires_in"),
        )
        return str(self._token["access_token"])


def _parse_token(response: httpx.Response) -> tuple[OAuth2Token, int]:
    try:
        parsed = TokenResponse.model_validate_json(response.content)
    except PydanticValidationError as exc:
        raise ProtocolError(
            f"the token endpoint answered without a usable access_token ({exc.error_count()} problems)",
            status=response.status_code,
        ) from exc
    expires_in = parsed.expires_in if parsed.expires_in and parsed.expires_in > 0 else DEFAULT_EXPIRES_IN
    token = OAuth2Token(
        {
            "access_token": parsed.access_token.get_secret_value(),
            "token_type": parsed.token_type,
            "expires_in": expires_in,
            "scope": parsed.scope,
        }
    )
    leeway = min(MAX_REFRESH_LEEWAY, int(expires_in * REFRESH_LEEWAY_FRACTION))
    return token, leeway


__all__ = ["DEFAULT_SCOPES", "TOKEN_PATH", "TokenManager", "TokenResponse"]
