"""Scheduled job of the commands domain (leader replica only): commands past their deadline time out."""

from __future__ import annotations

from datetime import timedelta

from hub.core.db import utcnow
from hub.core.scheduler import Scheduler
from native_rmm.commands import service as commands
from native_rmm.settings import JobContext

TIMEOUT_JOB = "rmm-command-timeouts"


async def expire_commands(plane: JobContext) -> int:
    """Mark commands past their deadline (or never delivered within the queue TTL) ``timed_out``."""
    ttl = timedelta(hours=plane.settings.command_queue_ttl_hours)
    async with plane.db.transaction() as session:
        return await commands.expire_overdue(session, now=utcnow(), queue_ttl=ttl, bus=plane.bus)


def add_jobs(scheduler: Scheduler, plane: JobContext) -> None:
    """Register the command-timeout job."""

    async def timeout_job() -> int:
        return await expire_commands(plane)

    scheduler.add(TIMEOUT_JOB, timeout_job, seconds=plane.settings.command_job_seconds)
