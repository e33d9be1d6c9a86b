"""Scheduled jobs of the device plane (leader replica only): status, command timeouts, retention,
and ending quick-support sessions whose agent vanished without signing off."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.core.db import utcnow
from hub.core.scheduler import Scheduler
from native_rmm import status
from native_rmm.commands import service as commands
from native_rmm.devices.service import mark_uninstalled
from native_rmm.ingest.retention import prune_samples
from native_rmm.models.devices import Device
from native_rmm.plane import DevicePlane

STATUS_JOB = "rmm-device-status"
TIMEOUT_JOB = "rmm-command-timeouts"
RETENTION_JOB = "rmm-sample-retention"
QUICK_SUPPORT_JOB = "rmm-quick-support-expiry"
#: How long past its expiry a quick-support session may linger before the hub ends it itself (the agent
#: normally ends it on time and deregisters; this covers an agent that died or lost its network).
QUICK_SUPPORT_GRACE = timedelta(minutes=5)


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


async def end_expired_quick_support(plane: DevicePlane) -> int:
    """Retire quick-support devices past their session expiry (plus grace): credential revoked, status final."""
    cutoff = utcnow() - QUICK_SUPPORT_GRACE
    async with plane.db.transaction() as session:
        stmt = select(Device).where(
            Device.quick_support.is_(True), Device.uninstalled_at.is_(None), Device.session_expires_at < cutoff
        )
        expired = list((await session.execute(stmt)).scalars())
        for device in expired:
            await mark_uninstalled(session, device, reason="quick-support expired", bus=plane.bus)
    return len(expired)


def add_jobs(scheduler: Scheduler, plane: DevicePlane) -> None:
    """Register the device-plane jobs."""
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

    async def quick_support_job() -> int:
        return await end_expired_quick_support(plane)

    scheduler.add(QUICK_SUPPORT_JOB, quick_support_job, seconds=s.status_job_seconds)
