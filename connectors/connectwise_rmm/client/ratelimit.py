"""A per-connection async token bucket that paces requests to ConnectWise.

ConnectWise documents per-resource buckets (``GET /v1/rate_limits``) but no global figure; a
"500 requests per 5 minutes" quota is quoted by one deployment document and matches one public
client's defaults (reference §4, unverified). The default here stays under it; every connection can
configure its own limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

SleepFunc = Callable[[float], Awaitable[None]]
ClockFunc = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """How fast one connection may send requests.

    Attributes:
        requests_per_second: Sustained rate. The default (1.6/s) keeps under 500 requests per 5 minutes.
        burst: Requests that may go out back to back before pacing starts.
    """

    requests_per_second: float = 1.6
    burst: int = 10

    def __post_init__(self) -> None:
        if self.requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")


class AsyncTokenBucket:
    """Token bucket with reservations: each caller takes a token now or books the next free slot.

    A caller that finds the bucket empty books a future token (the balance goes negative) and sleeps
    until its slot, outside the lock, so waiting callers queue fairly in arrival order and no one polls.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: ClockFunc = time.monotonic,
        sleep: SleepFunc = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(limit.burst)
        self._updated = clock()
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"AsyncTokenBucket(rate={self.limit.requests_per_second}/s, burst={self.limit.burst})"

    async def acquire(self) -> float:
        """Wait for a request slot.

        Returns:
            The number of seconds this caller waited (0.0 when a token was free).
        """
        async with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._updated = now
            self._tokens = min(float(self.limit.burst), self._tokens + elapsed * self.limit.requests_per_second)
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.limit.requests_per_second
        if wait > 0:
            await self._sleep(wait)
        return wait
