"""Retries with exponential back-off and jitter, honouring ``Retry-After``.

What is retried (reference §4):

* 429 and 503, for every method: the request was not processed.
* 502/504, time-outs while reading and dropped connections: only for idempotent requests, because a
  write may already have happened upstream (scheduling a task twice creates two real tasks).
* Failing to connect at all (connect error/time-out): for every method, since nothing was sent.

``Retry-After`` is undocumented for ConnectWise; when present (delta-seconds or an HTTP date) it is
honoured up to ``max_retry_after``. Otherwise the delay is ``base_delay * 2**attempt`` capped at
``max_delay``, with +/- ``jitter`` (a fraction) so parallel connections do not retry in step.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

from connectors.connectwise_rmm.client.errors import (
    ConnectWiseError,
    UpstreamUnavailableError,
    normalise_error,
)
from connectors.connectwise_rmm.client.ratelimit import AsyncTokenBucket, SleepFunc

logger = logging.getLogger(__name__)

ALWAYS_RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT_RETRY_STATUSES = frozenset({502, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the client retries throttled and failed requests.

    Attributes:
        max_attempts: Total tries per request, the first included.
        base_delay: Back-off for the first retry, in seconds; doubled each time.
        max_delay: Cap on a computed back-off.
        max_retry_after: Longest ``Retry-After`` we will sleep for; longer asks fail at once.
        jitter: Fractional +/- jitter applied to computed back-offs (not to ``Retry-After``).
    """

    max_attempts: int = 4
    base_delay: float = 2.0
    max_delay: float = 60.0
    max_retry_after: float = 300.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based) when upstream gave no hint."""
        delay = min(self.max_delay, self.base_delay * (2.0**retry_number))
        if self.jitter:
            delay *= 1.0 + self.rng.uniform(-self.jitter, self.jitter)
        return max(0.0, delay)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delta-seconds or HTTP date) into seconds from now.

    Args:
        value: The header value, if any.
        now: The current Unix time (defaults to ``time.time()``).

    Returns:
        A non-negative number of seconds, or ``None`` when absent or unparseable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        logger.warning("ignoring unparseable Retry-After header %r", text)
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class RetryingSender:
    """Sends requests through one ``httpx.AsyncClient`` with pacing and bounded retries."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        policy: RetryPolicy,
        limiter: AsyncTokenBucket | None,
        sleep: SleepFunc = asyncio.sleep,
    ) -> None:
        self._http = http
        self._policy = policy
        self._limiter = limiter
        self._sleep = sleep

    async def send(self, request: httpx.Request, *, idempotent: bool | None = None) -> httpx.Response:
        """Send ``request``, retrying as described in the module docstring.

        Args:
            request: A fully built request (its body must be replayable, as JSON bodies are).
            idempotent: Override for whether the request may be replayed after a partial failure;
                defaults to the HTTP method's semantics (POST searches pass ``True``).

        Returns:
            The final response, whatever its status; non-retryable errors are left to the caller.

        Raises:
            RateLimitedError: Still 429 after the last attempt, or ``Retry-After`` beyond the bound.
            UpstreamUnavailableError: Still 503 (etc.) after the last attempt, or a transport failure.
        """
        replayable = request.method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        policy = self._policy
        for attempt in range(policy.max_attempts):
            last = attempt == policy.max_attempts - 1
            if self._limiter is not None:
                await self._limiter.acquire()
            try:
                response = await self._http.send(request)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failure: ConnectWiseError = UpstreamUnavailableError(f"could not connect to {request.url.host}: {exc}")
                if last:
                    raise failure from exc
                delay = policy.backoff(attempt)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                failure = UpstreamUnavailableError(f"{type(exc).__name__} talking to {request.url.host}: {exc}")
                if last or not replayable:
                    raise failure from exc
                delay = policy.backoff(attempt)
            else:
                status = response.status_code
                retryable = status in ALWAYS_RETRY_STATUSES or (replayable and status in IDEMPOTENT_RETRY_STATUSES)
                if not retryable:
                    return response
                await response.aread()
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if last or (retry_after is not None and retry_after > policy.max_retry_after):
                    raise normalise_error(response, retry_after=retry_after)
                delay = retry_after if retry_after is not None else policy.backoff(attempt)
                failure = normalise_error(response, retry_after=retry_after)
            logger.info(
                "ConnectWise %s %s failed (%s); retry %d/%d in %.2fs",
                request.method,
                request.url.path,
                failure.message if failure.status is None else f"HTTP {failure.status}",
                attempt + 1,
                policy.max_attempts - 1,
                delay,
            )
            await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt always returns or raises")


__all__ = [
    "ALWAYS_RETRY_STATUSES",
    "IDEMPOTENT_RETRY_STATUSES",
    "RetryPolicy",
    "RetryingSender",
    "parse_retry_after",
]
