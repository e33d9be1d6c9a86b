"""Typed client for the ConnectWise RMM (Asio) partner API.

Paths and shapes follow ``/work/shared/reference/connectwise-rmm.md``. The typed methods live in one
module per API family (``companies``, ``devices``, ``automation``, ``tickets``) and are combined here;
where the reference marks behaviour uncertain, the method's docstring names the fallback it uses.

Example::

    async with ConnectWiseClient(client_id=cid, client_secret=SecretStr(key), region=Region.AU) as cw:
        await cw.authenticate()
        devices = await cw.list_devices(company_id=company)
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

import httpx
from pydantic import BaseModel, SecretStr

from connectors.connectwise_rmm.client.auth import DEFAULT_SCOPES
from connectors.connectwise_rmm.client.automation import AutomationMethods
from connectors.connectwise_rmm.client.companies import CompanyMethods
from connectors.connectwise_rmm.client.devices import DeviceMethods
from connectors.connectwise_rmm.client.pagination import DEFAULT_MAX_PAGES
from connectors.connectwise_rmm.client.ratelimit import RateLimit, SleepFunc
from connectors.connectwise_rmm.client.regions import DEFAULT_REGION, Region
from connectors.connectwise_rmm.client.retry import RetryPolicy
from connectors.connectwise_rmm.client.session import ConnectWiseSession
from connectors.connectwise_rmm.client.task_runs import DEFAULT_TERMINAL_STATUSES, normalise_status
from connectors.connectwise_rmm.client.tickets import TicketMethods

_DEFAULT_RATE_LIMIT = RateLimit()


class TokenInfo(BaseModel):
    """What :meth:`ConnectWiseClient.authenticate` reports -- never the token itself."""

    token_type: str
    scope: str | None = None
    expires_at: int | None = None


class ConnectWiseClient(CompanyMethods, DeviceMethods, AutomationMethods, TicketMethods):
    """One ConnectWise RMM connection: one HTTP client, one shared token, a rate limit, retries.

    Args:
        client_id: The Asio Client ID.
        client_secret: The Asio API key (the OAuth ``client_secret``); never logged or shown in a repr.
        region: ``au`` (default), ``na`` or ``eu``; picks the API host.
        base_url: Overrides the region's host (a test server, or a gateway with a path prefix).
        scopes: Scopes requested with the token (see ``auth.DEFAULT_SCOPES``); ``()`` omits ``scope``.
        rate_limit: Pacing for this connection; ``None`` disables it.
        retry: Retry policy for 429/503 and transient failures.
        timeout: Per-request time-out in seconds, or an ``httpx.Timeout``.
        transport: Injected transport (tests use respx); ``None`` uses httpx's default.
        verify: ``True`` (system CAs, honouring ``SSL_CERT_FILE``/``SSL_CERT_DIR``), ``False``, or an
            ``ssl.SSLContext``.
        trust_env: Honour proxy and CA environment variables. On by default: MSP networks need it.
        sleep: Awaitable sleep for back-off, pacing and polling (tests inject a recorder).
        clock: Monotonic clock bounding task-result waits.
        max_pages: Upper bound on pages any listing follows.
        terminal_task_statuses: ``OverallStatus``/``completionStatus`` values that end a task run
            (ConnectWise documents none; see ``task_runs``).
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: SecretStr | str,
        region: Region | str = DEFAULT_REGION,
        base_url: str | None = None,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        rate_limit: RateLimit | None = _DEFAULT_RATE_LIMIT,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        trust_env: bool = True,
        sleep: SleepFunc = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_pages: int = DEFAULT_MAX_PAGES,
        terminal_task_statuses: frozenset[str] = DEFAULT_TERMINAL_STATUSES,
    ) -> None:
        if not client_id.strip():
            raise ValueError("client_id is required")
        self.region = Region(region)
        secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        self._session = ConnectWiseSession(
            base_url=base_url or self.region.api_base_url,
            client_id=client_id.strip(),
            client_secret=secret,
            scopes=scopes,
            rate_limit=rate_limit,
            retry=retry,
            timeout=timeout,
            transport=transport,
            verify=verify,
            trust_env=trust_env,
            sleep=sleep,
            max_pages=max_pages,
        )
        self._sleep = sleep
        self._clock = clock
        self.terminal_task_statuses = frozenset(normalise_status(s) for s in terminal_task_statuses)

    def __repr__(self) -> str:
        return (
            f"ConnectWiseClient(region={self.region.value!r}, base_url={str(self._session.base_url)!r}, "
            f"client_id={self._session.tokens.client_id!r})"
        )

    @property
    def session(self) -> ConnectWiseSession:
        """The underlying session (HTTP client and token manager), for diagnostics."""
        return self._session

    async def aclose(self) -> None:
        """Close the HTTP connection pool. The client cannot be used afterwards."""
        await self._session.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def authenticate(self) -> TokenInfo:
        """Mint a token now, proving the Client ID, API key, region and scopes (the "Save" check).

        Raises:
            AuthenticationError: Wrong credentials or region, or a scope the key was not granted.
            KeyLockedError: ConnectWise locked the key for signing in too often.
        """
        token = await self._session.tokens.authenticate()
        expires_at = token.get("expires_at")
        return TokenInfo(
            token_type=str(token.get("token_type") or "Bearer"),
            scope=token.get("scope"),
            expires_at=expires_at if isinstance(expires_at, int) else None,
        )
