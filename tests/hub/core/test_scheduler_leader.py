"""Scheduler leadership on a real PostgreSQL: the lock pins no snapshot, a killed lock session stops
the leader's jobs before anyone else runs them, and hand-over after a stop or a kill is bounded.

Two schedulers on their own engines play two replicas (the lock is per database, so each test
gets an empty database of its own). Hand-over figures are printed (``-s``) for the closing note.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from sqlalchemy import text

from hub.core.db import Database, create_cli_engine
from hub.core.scheduler import Scheduler
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (RMMHUB_TEST_DATABASE_URL)")

RETRY, CHECK, CHECK_TIMEOUT = 0.5, 0.2, 0.5
#: Scheduling slack on a loaded 2-core machine: the bound is what is checked, not how fast it usually is.
SLACK = 5.0
JOB_EVERY = 0.05


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    name = f"rmmhub_lock_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_dsn(PG_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class Replica:
    """A scheduler with one fast job that records when it ran."""

    def __init__(self, name: str, url: str, runs: list[tuple[str, float]]) -> None:
        self.name = name
        self.db = Database(create_cli_engine(url), secret_key="x" * 40)
        self.scheduler = Scheduler(
            self.db, retry_seconds=RETRY, check_seconds=CHECK, check_timeout_seconds=CHECK_TIMEOUT
        )

        async def job() -> None:
            runs.append((self.name, time.monotonic()))

        self.scheduler.add("tick", job, seconds=JOB_EVERY)

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.db.dispose()


@pytest.fixture
async def pair(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[Replica, Replica, list[tuple[str, float]]]]:
    caplog.set_level(logging.INFO, logger="hub.core.scheduler")
    runs: list[tuple[str, float]] = []
    a, b = Replica("a", pg_url, runs), Replica("b", pg_url, runs)
    await a.scheduler.start()
    await _until(lambda: a.scheduler.is_leader, 10)
    await b.scheduler.start()
    try:
        yield a, b, runs
    finally:
        await a.close()
        await b.close()


async def _until(condition: Callable[[], bool | Awaitable[bool]], seconds: float) -> float:
    """Wait for ``condition``; returns the seconds it took."""
    started = time.monotonic()
    while True:
        value = condition()
        if value if isinstance(value, bool) else await value:
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            raise AssertionError(f"condition not met within {seconds} s")
        await asyncio.sleep(0.02)


async def _activity(pg_url: str, pid: int) -> asyncpg.Record:
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        row = await conn.fetchrow("SELECT state, xact_start, backend_xmin FROM pg_stat_activity WHERE pid = $1", pid)
    finally:
        await conn.close()
    assert row is not None
    return row


async def test_lock_session_is_idle_outside_any_transaction(
    pair: tuple[Replica, Replica, list[tuple[str, float]]], pg_url: str
) -> None:
    a, _, _ = pair
    pid = a.scheduler.lock_backend_pid
    assert pid is not None
    checks = a.scheduler.lock_checks
    await _until(lambda: a.scheduler.lock_checks >= checks + 3, 30)  # several lock checks ran on that connection
    row = await _activity(pg_url, pid)
    assert row["state"] == "idle"
    assert row["xact_start"] is None
    assert row["backend_xmin"] is None


async def test_killed_lock_session_stops_jobs_before_the_other_replica_runs_them(
    pair: tuple[Replica, Replica, list[tuple[str, float]]], pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    a, b, runs = pair
    await _until(lambda: any(name == "a" for name, _ in runs), 5)
    await _until(lambda: "this one follows" in caplog.text, 5)
    pid = a.scheduler.lock_backend_pid
    assert pid is not None
    killed_at = time.monotonic()
    async with Database(create_cli_engine(pg_url), secret_key="x" * 40).engine.connect() as conn:
        assert (await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})).scalar_one()
    await _until(lambda: not a.scheduler.is_leader or b.scheduler.is_leader, 10)
    stopped = time.monotonic() - killed_at
    assert not a.scheduler.is_leader, "replica a kept leading after its lock session was killed"
    await _until(lambda: any(name == "b" for name, _ in runs), 10)
    handover = time.monotonic() - killed_at
    last_a = max(t for name, t in runs if name == "a")
    first_b = min(t for name, t in runs if name == "b")
    assert last_a < first_b, "both replicas ran the scheduled job"
    assert "lost the scheduler lock" in caplog.text or "no longer held" in caplog.text
    assert stopped < CHECK + CHECK_TIMEOUT + SLACK
    assert handover < RETRY * 1.2 + CHECK + CHECK_TIMEOUT + SLACK
    print(
        f"\nFIGURE leader stopped {stopped * 1000:.0f} ms after pg_terminate_backend; "
        f"follower ran jobs {handover * 1000:.0f} ms after (retry {RETRY} s, check {CHECK} s)"
    )
    # and a re-won lock resumes: a leads again once b stops
    await b.scheduler.stop()
    await _until(lambda: a.scheduler.is_leader, 10)
    assert a.scheduler.terms == 2


async def test_stopped_leader_hands_over_within_the_bound(
    pair: tuple[Replica, Replica, list[tuple[str, float]]],
) -> None:
    a, _b, runs = pair
    await _until(lambda: any(name == "a" for name, _ in runs), 5)
    stopped_at = time.monotonic()
    await a.scheduler.stop()
    assert not a.scheduler.is_leader
    await _until(lambda: any(name == "b" for name, _ in runs), 10)
    handover = time.monotonic() - stopped_at
    assert max(t for name, t in runs if name == "a") < min(t for name, t in runs if name == "b")
    assert handover < RETRY * 1.2 + CHECK + CHECK_TIMEOUT + SLACK
    print(f"\nFIGURE hand-over after a clean stop: {handover * 1000:.0f} ms (retry {RETRY} s, check {CHECK} s)")


async def test_stop_survives_a_dead_lock_session(
    pair: tuple[Replica, Replica, list[tuple[str, float]]], pg_url: str
) -> None:
    a, _, _ = pair
    checks = a.scheduler.lock_checks
    a.scheduler.check_seconds = 3600  # the watch does not notice: stop() meets the dead connection itself
    await _until(lambda: a.scheduler.lock_checks > checks, 30)  # the running check ended; the next waits an hour
    pid = a.scheduler.lock_backend_pid
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()
    await a.scheduler.stop()
    assert not a.scheduler.is_leader
