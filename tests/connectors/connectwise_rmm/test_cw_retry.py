"""Retries, back-off, Retry-After and pacing (reference §4 "Rate limits")."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from cw_fakes import FakeClock, SleepRecorder

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.errors import RateLimitedError, UpstreamUnavailableError
from connectors.connectwise_rmm.client.ratelimit import AsyncTokenBucket, RateLimit
from connectors.connectwise_rmm.client.retry import RetryPolicy, parse_retry_after
from connectors.connectwise_rmm.client.schemas import TicketCreate

GROUPS = "/api/platform/v1/device-groups"
SCHEDULE = "/api/platform/v2/automation/endpoints/schedule-tasks"


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now.timestamp()) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now.timestamp()) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_backoff_is_exponential_capped_and_jittered() -> None:
    exact = RetryPolicy(base_delay=2.0, max_delay=10.0, jitter=0.0)
    assert [exact.backoff(n) for n in range(5)] == [2.0, 4.0, 8.0, 10.0, 10.0]

    jittered = RetryPolicy(base_delay=2.0, jitter=0.2, rng=random.Random(7))
    delays = [jittered.backoff(1) for _ in range(50)]
    assert all(3.2 <= d <= 4.8 for d in delays)
    assert len(set(delays)) > 1


async def test_429_with_retry_after_sleeps_what_was_asked(
    client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder
) -> None:
    route = router.get(GROUPS).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"code": "429", "message": "Too many requests"}),
            httpx.Response(429, headers={"Retry-After": "3"}, text="Too many requests"),
            httpx.Response(200, json=[]),
        ]
    )

    assert await client.list_device_groups() == []

    assert route.call_count == 3
    assert sleeper.calls == [7.0, 3.0]


async def test_429_with_http_date_retry_after(
    client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    router.get(GROUPS).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200, json=[])]
    )

    await client.list_device_groups()

    assert len(sleeper.calls) == 1
    assert 18.0 <= sleeper.calls[0] <= 20.0


async def test_429_without_retry_after_backs_off_exponentially(
    client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder
) -> None:
    router.get(GROUPS).mock(
        side_effect=[httpx.Response(429), httpx.Response(429), httpx.Response(429), httpx.Response(200, json=[])]
    )

    await client.list_device_groups()

    assert sleeper.calls == [2.0, 4.0, 8.0]


async def test_429_retries_are_bounded(client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder) -> None:
    route = router.get(GROUPS).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "1"}, text="Too many requests")
    )

    with pytest.raises(RateLimitedError) as caught:
        await client.list_device_groups()

    assert route.call_count == 4
    assert sleeper.calls == [1.0, 1.0, 1.0]
    assert caught.value.status == 429
    assert caught.value.retry_after == 1.0
    assert caught.value.message == "Too many requests"


async def test_retry_after_beyond_the_bound_fails_at_once(
    make_client: Callable[..., ConnectWiseClient],
    token_route: respx.Route,
    router: respx.Router,
    sleeper: SleepRecorder,
) -> None:
    client = make_client(retry=RetryPolicy(jitter=0.0, max_retry_after=60.0))
    route = router.get(GROUPS).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))

    with pytest.raises(RateLimitedError) as caught:
        await client.list_device_groups()

    assert route.call_count == 1
    assert sleeper.calls == []
    assert caught.value.retry_after == 3600.0


async def test_503_is_retried_even_for_writes(
    client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder
) -> None:
    route = router.post("/api/platform/v2/service/ticketing/tickets").mock(
        side_effect=[httpx.Response(503, text="unavailable"), httpx.Response(201, json={"id": "t1", "number": "1"})]
    )

    ticket = await client.create_ticket(
        TicketCreate(summary="s", description="d", service_board={"id": "b"}, source={"id": "src"})
    )

    assert ticket.id == "t1"
    assert route.call_count == 2
    assert sleeper.calls == [2.0]


async def test_persistent_503_is_upstream_unavailable(
    client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder
) -> None:
    router.get(GROUPS).mock(return_value=httpx.Response(503, json={"message": "maintenance"}))

    with pytest.raises(UpstreamUnavailableError, match="maintenance"):
        await client.list_device_groups()

    assert len(sleeper.calls) == 3


async def test_connection_errors_are_retried_for_gets(
    client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder
) -> None:
    route = router.get(GROUPS).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200, json=[])]
    )

    assert await client.list_device_groups() == []
    assert route.call_count == 3
    assert sleeper.calls == [2.0, 4.0]


async def test_a_write_is_not_replayed_after_a_read_timeout(
    client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder
) -> None:
    route = router.post(SCHEDULE).mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(UpstreamUnavailableError, match="ReadTimeout"):
        await client.schedule_task("tpl", name="n", endpoint_ids=["e1"])

    assert route.call_count == 1
    assert sleeper.calls == []


async def test_502_is_not_retried_for_writes(client: ConnectWiseClient, router: respx.Router) -> None:
    route = router.post(SCHEDULE).mock(return_value=httpx.Response(502, text="bad gateway"))

    with pytest.raises(UpstreamUnavailableError):
        await client.schedule_task("tpl", name="n", endpoint_ids=["e1"])

    assert route.call_count == 1


async def test_token_bucket_paces_after_the_burst() -> None:
    clock = FakeClock(0.0)
    asked: list[float] = []

    async def sleep_without_time_passing(seconds: float) -> None:
        asked.append(seconds)

    bucket = AsyncTokenBucket(
        RateLimit(requests_per_second=2.0, burst=2), clock=clock, sleep=sleep_without_time_passing
    )

    waits = [await bucket.acquire() for _ in range(4)]

    # Two free tokens, then callers arriving at the same instant book consecutive 0.5 s slots.
    assert waits == [0.0, 0.0, 0.5, 1.0]
    assert asked == [0.5, 1.0]


async def test_token_bucket_refills_with_time() -> None:
    clock = FakeClock(0.0)
    bucket = AsyncTokenBucket(RateLimit(requests_per_second=1.0, burst=3), clock=clock, sleep=SleepRecorder(clock))
    for _ in range(3):
        await bucket.acquire()

    clock.now = 2.0

    assert [await bucket.acquire() for _ in range(2)] == [0.0, 0.0]


def test_rate_limit_is_validated() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimit(requests_per_second=0)
    with pytest.raises(ValueError, match="burst"):
        RateLimit(burst=0)


async def test_client_paces_requests_through_its_limiter(
    make_client: Callable[..., ConnectWiseClient],
    token_route: respx.Route,
    router: respx.Router,
    sleeper: SleepRecorder,
) -> None:
    client = make_client(rate_limit=RateLimit(requests_per_second=1.0, burst=2))
    router.get(GROUPS).mock(return_value=httpx.Response(200, json=[]))

    for _ in range(3):
        await client.list_device_groups()

    # token + 3 calls = 4 requests through a burst of 2 at 1/s: two paced waits were asked for.
    assert len([s for s in sleeper.calls if s > 0]) == 2
