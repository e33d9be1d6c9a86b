"""Scheduled jobs (APScheduler), run on exactly one hub replica.

With PostgreSQL the leader is whoever holds a session-level advisory lock on a dedicated
connection; followers retry every 30 s, so a crashed leader is replaced. With SQLite the hub is a
single node and always leads. Every job runs in its own unit of work; a run that raises is logged
with the job name and traceback by APScheduler's executor, and the next run happens as scheduled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.core.db import Database

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = 0x524D4D48  # "RMMH"
Job = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class JobSpec:
    """A recurring job: a name, a coroutine function and an interval."""

    name: str
    func: Job
    seconds: float


class Scheduler:
    """Owns the APScheduler instance and the leadership lock."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._jobs: list[JobSpec] = []
        self._scheduler: AsyncIOScheduler | None = None
        self._lock_conn: AsyncConnection | None = None
        self._elector: asyncio.Task[None] | None = None
        self.is_leader = False

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
        self._elector = asyncio.create_task(self._elect(), name="scheduler-election")

    async def _try_lead(self) -> bool:
        if self._db.dialect != "postgresql":
            return True
        conn = await self._db.engine.connect()
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY})).scalar_one()
        if got:
            self._lock_conn = conn
            return True
        await conn.close()
        return False

    async def _elect(self) -> None:
        while not await self._try_lead():  # noqa: ASYNC110 - polling a lock held by another replica
            await asyncio.sleep(30)
        self.is_leader = True
        scheduler = AsyncIOScheduler(timezone="UTC")
        for job in self._jobs:
            scheduler.add_job(
                job.func, IntervalTrigger(seconds=job.seconds), id=job.name, name=job.name,
                max_instances=1, coalesce=True,
            )  # fmt: skip
        scheduler.start()
        self._scheduler = scheduler
        log.info("this replica leads scheduled jobs (%d jobs)", len(self._jobs))

    async def stop(self) -> None:
        """Stop jobs and release leadership."""
        if self._elector is not None:
            self._elector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._elector
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._lock_conn is not None:
            await self._lock_conn.close()
            self._lock_conn = None
        self.is_leader = False
