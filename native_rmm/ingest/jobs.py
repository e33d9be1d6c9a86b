"""Scheduled job of the ingest domain (leader replica only): samples past the retention period go."""

from __future__ import annotations

from datetime import timedelta

from hub.core.db import utcnow
from hub.core.scheduler import Scheduler
from native_rmm.ingest.retention import prune_samples
from native_rmm.settings import JobContext

RETENTION_JOB = "rmm-sample-retention"


async def prune(plane: JobContext) -> int:
    """Delete samples older than the retention period."""
    cutoff = utcnow() - timedelta(days=plane.settings.sample_retention_days)
    return await prune_samples(plane.db, older_than=cutoff, batch_rows=plane.settings.retention_batch_rows)


def add_jobs(scheduler: Scheduler, plane: JobContext) -> None:
    """Register the retention job."""

    async def retention_job() -> int:
        return await prune(plane)

    scheduler.add(RETENTION_JOB, retention_job, seconds=plane.settings.retention_job_seconds)
