"""The HTTP session under :class:`~connectors.connectwise_rmm.client.ConnectWiseClient`.

One ``httpx.AsyncClient`` per connection (transport injectable; ``trust_env`` on, so ``SSL_CERT_FILE``,
``SSL_CERT_DIR`` and proxy variables apply), one :class:`TokenManager`, one rate limiter and the retry
policy. :meth:`ConnectWiseSession.request` adds the bearer token and the headers ConnectWise's spec marks
as required, re-mints the token once on a 401, and turns error responses into the error hierarchy.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from connectors.connectwise_rmm.client.auth import DEFAULT_SCOPES, TokenManager
from connectors.connectwise_rmm.client.errors import AuthenticationError, ProtocolError, normalise_error
from connectors.connectwise_rmm.client.pagination import DEFAULT_MAX_PAGES, Page, iter_link_pages
from connectors.connectwise_rmm.client.ratelimit import AsyncTokenBucket, RateLimit, SleepFunc
from connectors.connectwise_rmm.client.retry import RetryingSender, RetryPolicy

M = TypeVar("M", bound=BaseModel)

USER_AGENT = "rmmhub-connectwise-rmm/0.1"
QueryParams = Mapping[str, str | int]


@functools.cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def decode_json(response: httpx.Response) -> object:
    """Decode a response body as JSON; an empty body decodes to ``None``.

    Raises:
        ProtocolError: The body is not JSON.
    """
    if not response.content.strip():
        return None
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise ProtocolError(
            f"expected JSON from {response.request.method} {response.request.url.path}, got "
            f"{response.headers.get('Content-Type', 'no content type')}",
            status=response.status_code,
            upstream_body=response.text,
        ) from exc


def parse_model(model: type[M], data: object, *, what: str) -> M:
    """Validate ``data`` as ``model``; a mismatch is a :class:`ProtocolError` naming ``what``."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ProtocolError(f"unexpected shape for {what}: {exc.errors(include_url=False)[:3]}") from exc


def parse_list(model: type[M], data: object, *, what: str, keys: Sequence[str] = ()) -> list[M]:
    """Validate a bare JSON array of ``model``, or the array under one of ``keys`` of an object."""
    items = data
    if isinstance(data, dict):
        items = next((data[k] for k in keys if isinstance(data.get(k), list)), None)
    if data is None:
        items = []
    if not isinstance(items, list):
        raise ProtocolError(f"expected a list of {what}, got {type(data).__name__}")
    try:
        parsed: list[M] = _list_adapter(model).validate_python(items)
    except PydanticValidationError as exc:
        raise ProtocolError(f"unexpected shape for {what}: {exc.errors(include_url=False)[:3]}") from exc
    return parsed


class ConnectWiseSession:
    """Authenticated, paced, retrying access to one ConnectWise partner API connection."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: SecretStr,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        rate_limit: RateLimit | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        trust_env: bool = True,
        sleep: SleepFunc = asyncio.sleep,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        self.base_url = httpx.URL(base_url.rstrip("/"))
        self.max_pages = max_pages
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            verify=verify,
            trust_env=trust_env,
            follow_redirects=False,
            headers={
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                "Origin": str(self.base_url),
            },
        )
        limiter = AsyncTokenBucket(rate_limit, sleep=sleep) if rate_limit is not None else None
        self._sender = RetryingSender(self._http, policy=retry or RetryPolicy(), limiter=limiter, sleep=sleep)
        self.tokens = TokenManager(
            base_url=str(self.base_url),
            client_id=client_id,
            client_secret=client_secret,
            scopes=scopes,
            send=self._sender.send,
        )

    def __repr__(self) -> str:
        return f"ConnectWiseSession(base_url={str(self.base_url)!r}, client_id={self.tokens.client_id!r})"

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying client (for inspection; send requests through :meth:`request`)."""
        return self._http

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def absolute(self, path: str) -> httpx.URL:
        """Resolve an API path (``/api/platform/...``) under the base URL, keeping any base path prefix."""
        if path.startswith(("http://", "https://")):
            return httpx.URL(path)
        return httpx.URL(str(self.base_url).rstrip("/") + "/" + path.lstrip("/"))

    def _build(
        self, method: str, url: str | httpx.URL, token: str, params: QueryParams | None, body: object
    ) -> httpx.Request:
        target = self.absolute(url) if isinstance(url, str) else url
        if target.host != self.base_url.host or target.scheme != self.base_url.scheme:
            # A Link header pointing elsewhere must not receive our bearer token.
            raise ProtocolError(f"refusing to send credentials to {target.scheme}://{target.host}")
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": str(uuid.uuid4())}
        return self._http.build_request(
            method,
            target,
            params=dict(params) if params is not None else None,
            json=body if body is not None else None,
            headers=headers,
        )

    async def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: QueryParams | None = None,
        body: object = None,
        idempotent: bool | None = None,
        accept_statuses: Collection[int] = (),
    ) -> httpx.Response:
        """Send an authenticated request and return the successful (or accepted) response.

        Args:
            method: HTTP method. ``GET`` with a body is allowed (the device list needs it).
            url: Path relative to the API host, or an absolute URL on the same host.
            params: Query parameters.
            body: JSON body, if any.
            idempotent: Whether the request may be replayed after a partial failure (see ``retry``).
            accept_statuses: Error statuses returned to the caller instead of raised.

        Raises:
            ConnectWiseError: The mapped error for any other non-2xx answer.
        """
        token = await self.tokens.get_token()
        response = await self._sender.send(self._build(method, url, token, params, body), idempotent=idempotent)
        if response.status_code == 401:
            token = await self.tokens.refresh_after_unauthorized(token)
            response = await self._sender.send(self._build(method, url, token, params, body), idempotent=idempotent)
            if response.status_code == 401:
                upstream = normalise_error(response)
                raise AuthenticationError(
                    f"{upstream.message} (still refused after a fresh token)",
                    status=401,
                    code=upstream.code,
                    upstream_body=upstream.upstream_body,
                )
        if response.is_success or response.status_code in accept_statuses:
            return response
        raise normalise_error(response)

    async def get_json(self, path: str, *, params: QueryParams | None = None) -> object:
        """``GET`` a path and decode its JSON body."""
        return decode_json(await self.request("GET", path, params=params))

    async def get_linked_pages(self, path: str, *, params: QueryParams | None = None) -> list[object]:
        """``GET`` a listing, following ``Link: rel="next"`` when present; one decoded body per page."""

        async def fetch(url: httpx.URL) -> Page:
            response = await self.request("GET", url)
            return Page(response=response, data=decode_json(response))

        first = self.absolute(path).copy_merge_params(dict(params or {}))
        return [page.data async for page in iter_link_pages(fetch, first, max_pages=self.max_pages)]
