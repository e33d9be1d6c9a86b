"""Scheduled jobs of the device plane (leader replica only): status, command timeouts, retention."""

from __future__ import annotations

from datetime import timedelta

from hub.core.db import utcnow
from hub.core.scheduler import Scheduler
from native_rmm import status
from native_rmm.commands import service as commands
from native_rmm.ingest.retention import prune_samples
from native_rmm.plane import DevicePlane

STATUS_JOB = "rmm-device-status"
TIMEOUT_JOB = "rmm-command-timeouts"
RETENTION_JOB = "rmm-sample-retention"


async def refresh_statuses(plane: DevicePlane) -> int:
    """Recompute every device's status; returns how many changed (each change is published)."""
    async with plane.db.transaction() as session:
        changes = await status.refresh_statuses(session, plane.bus, now=utcnow(), settings=plane.settings)
    return len(changes)


async def expire_commands(plane: DevicePlane) -> int:
    """Mark commands past their deadline (or never delivered within the queue TTL) ``timed_out``."""
    ttl = timedelta(hours=plane.settings.command_queue_ttl_hours)
    async with plane.db.transaction() as session:
        return await commands.expire_overdue(session, now=utcnow(), queue_ttl=ttl, bus=plane.bus)


async def prune(plane: DevicePlane) -> int:
    """Delete samples older than the retention period."""
    cutoff = utcnow() - timedelta(days=plane.settings.sample_retention_days)
    return await prune_samples(plane.db, older_than=cutoff, batch_rows=plane.settings.retention_batch_rows)


def add_jobs(scheduler: Scheduler, plane: DevicePlane) -> None:
    """Register the three jobs."""
    s = plane.settings

    async def status_job() -> int:
        return await refresh_statuses(plane)

    async def timeout_job() -> int:
        return await expire_commands(plane)

    async def retention_job() -> int:
        return await prune(plane)

    scheduler.add(STATUS_JOB, status_job, seconds=s.status_job_seconds)
    scheduler.add(TIMEOUT_JOB, timeout_job, seconds=s.command_job_seconds)
    scheduler.add(RETENTION_JOB, retention_job, seconds=s.retention_job_seconds)
