"""Scheduled jobs (APScheduler), run on exactly one hub replica.

With PostgreSQL the leader is whoever holds a session-level advisory lock. The lock lives on a
dedicated connection outside the pool, in autocommit mode: the backend sits "idle", never "idle in
transaction", so it pins no snapshot and VACUUM is not held back. The leader checks every
``check_seconds`` that its backend still holds the lock; when the check fails (the session was
terminated, the server restarted, the network dropped) it cancels its jobs at once, logs it and
goes back to following. Followers try for the lock every ``retry_seconds`` (with jitter).

A replica that wins the lock keeps checking it for ``check_seconds`` + the check timeout before it
starts jobs: a leader whose lock session was killed has stopped its jobs by then, so two replicas
never run them at once. Hand-over is bounded: a leader that stops or dies releases the lock with
its session, and a follower runs jobs within ``retry_seconds`` x 1.2 (jitter) + ``check_seconds`` +
the check timeout: 6 + 1 + 2 = 9 s with the defaults. A lock session that is lost silently (a dead network) is released by the server
once its TCP keepalives give up; the leader, whose check times out, has stopped long before.

With SQLite the hub is a single node and always leads. Every job runs in its own unit of work; a
run that raises is logged with the job name and traceback by APScheduler's executor, and the next
run happens as scheduled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from hub.core.db import Database
from hub.core.tasks import start_task, stop_task

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = 0x524D4D48  # "RMMH"
LEADER_RETRY_SECONDS = 5.0
LEADER_CHECK_SECONDS = 1.0
LEADER_CHECK_TIMEOUT_SECONDS = 2.0
Job = Callable[[], Awaitable[Any]]

_TRY_LOCK = text("SELECT pg_try_advisory_lock(:k), pg_backend_pid()")
_HOLDS_LOCK = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
    " AND ((classid::bigint << 32) | objid::bigint) = :k"
)
_UNLOCK = text("SELECT pg_advisory_unlock(:k)")
# What losing the lock connection looks like: the driver's errors arrive wrapped by SQLAlchemy,
# a dead socket as OSError, a check that hangs as TimeoutError.
_LOST = (SQLAlchemyError, OSError, TimeoutError)


@dataclass(frozen=True)
class JobSpec:
    """A recurring job: a name, a coroutine function and an interval."""

    name: str
    func: Job
    seconds: float


class Scheduler:
    """Owns the APScheduler instance and the leadership lock."""

    def __init__(
        self,
        db: Database,
        *,
        retry_seconds: float = LEADER_RETRY_SECONDS,
        check_seconds: float = LEADER_CHECK_SECONDS,
        check_timeout_seconds: float = LEADER_CHECK_TIMEOUT_SECONDS,
    ) -> None:
        self._db = db
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.check_timeout_seconds = check_timeout_seconds
        self._jobs: list[JobSpec] = []
        self._scheduler: AsyncIOScheduler | None = None
        self._lock_engine: AsyncEngine | None = None
        self._lock_conn: AsyncConnection | None = None
        self._elector: asyncio.Task[None] | None = None
        self.is_leader = False
        self.terms = 0  # how many times this replica won leadership
        self.lock_checks = 0  # lock checks passed (tests wait on it instead of on time)
        self.lock_backend_pid: int | None = None  # the PostgreSQL backend holding the lock while leading

    def add(self, name: str, func: Job, *, seconds: float) -> None:
        """Register a recurring job (before :meth:`start`)."""
        self._jobs.append(JobSpec(name, func, seconds))

    @property
    def jobs(self) -> list[JobSpec]:
        """The registered jobs."""
        return list(self._jobs)

    async def run_now(self, name: str) -> Any:
        """Run one job immediately (CLI, tests, "Run now" buttons)."""
        for job in self._jobs:
            if job.name == name:
                return await job.func()
        raise KeyError(f"no scheduled job named {name!r}")

    async def start(self) -> None:
        """Start electing; the leader starts the jobs."""
        if self._db.dialect == "postgresql":
            self._lock_engine = create_async_engine(
                self._db.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
            )
        self._elector = start_task(self._elect(), name="scheduler-election")

    async def _elect(self) -> None:
        if self._lock_engine is None:
            self._lead()
            return
        following_logged = False
        while True:
            if await self._try_lock():
                following_logged = False
                # A leader whose lock session was killed notices within one check; wait that long
                # before starting jobs so two replicas never run them at once.
                if await self._hold(until=self.check_seconds + self.check_timeout_seconds):
                    self._lead()
                    await self._hold()
                    self._abdicate()
                await self._drop_lock_conn()
            elif not following_logged:
                log.info(
                    "another replica leads scheduled jobs; this one follows (retrying every %.0f s)", self.retry_seconds
                )
                following_logged = True
            await asyncio.sleep(self.retry_seconds * random.uniform(0.8, 1.2))

    async def _try_lock(self) -> bool:
        assert self._lock_engine is not None
        try:
            conn = await self._lock_engine.connect()
        except _LOST as exc:
            log.warning("cannot reach the database for the scheduler lock: %s", exc)
            return False
        try:
            got, pid = (await conn.execute(_TRY_LOCK, {"k": LEADER_LOCK_KEY})).one()
        except _LOST as exc:
            log.warning("trying the scheduler lock failed: %s", exc)
            got, pid = False, None
        if got:
            self._lock_conn, self.lock_backend_pid = conn, int(pid)
            return True
        with contextlib.suppress(*_LOST):
            await conn.close()
        return False

    async def _hold(self, until: float | None = None) -> bool:
        """Check the lock until it is lost (False) or, with ``until``, that many seconds passed (True)."""
        assert self._lock_conn is not None
        loop = asyncio.get_running_loop()
        end = None if until is None else loop.time() + until
        while end is None or loop.time() < end:
            await asyncio.sleep(self.check_seconds if end is None else min(self.check_seconds, end - loop.time()))
            try:
                async with asyncio.timeout(self.check_timeout_seconds):
                    held = (await self._lock_conn.execute(_HOLDS_LOCK, {"k": LEADER_LOCK_KEY})).scalar_one()
            except _LOST as exc:
                log.warning("lost the scheduler lock connection (%s); stopped scheduled jobs", exc)
                return False
            if not held:
                log.warning("the scheduler lock is no longer held by this replica; stopped scheduled jobs")
                return False
            self.lock_checks += 1
        return True

    def _lead(self) -> None:
        self.is_leader = True
        self.terms += 1
        scheduler = AsyncIOScheduler(timezone="UTC")
        for job in self._jobs:
            scheduler.add_job(
                job.func,
                IntervalTrigger(seconds=job.seconds),
                id=job.name,
                name=job.name,
                max_instances=1,
                coalesce=True,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("this replica leads scheduled jobs (%d jobs)", len(self._jobs))

    def _abdicate(self) -> None:
        """Stop the jobs now: queued runs are dropped and running ones cancelled."""
        self.is_leader = False
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    async def _drop_lock_conn(self, *, release: bool = False) -> None:
        conn, self._lock_conn, self.lock_backend_pid = self._lock_conn, None, None
        if conn is None:
            return
        try:
            if release:
                await conn.execute(_UNLOCK, {"k": LEADER_LOCK_KEY})
            await conn.close()
        except _LOST as exc:  # the session is gone already, and its lock with it
            log.info("the scheduler lock connection was already gone at close: %s", exc)
            with contextlib.suppress(*_LOST):
                await conn.invalidate()

    async def stop(self) -> None:
        """Stop jobs and release leadership; never raises for a lost lock connection."""
        await stop_task(self._elector)
        self._elector = None
        self._abdicate()
        await self._drop_lock_conn(release=True)
        if self._lock_engine is not None:
            await self._lock_engine.dispose()
            self._lock_engine = None
