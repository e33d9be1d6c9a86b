"""Scheduled jobs of the devices domain (leader replica only): device status, and ending quick-support
sessions whose agent vanished without signing off."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.core.db import utcnow
from hub.core.scheduler import Scheduler
from native_rmm.devices import status
from native_rmm.devices.service import mark_uninstalled
from native_rmm.models.devices import Device
from native_rmm.settings import JobContext

STATUS_JOB = "rmm-device-status"
QUICK_SUPPORT_JOB = "rmm-quick-support-expiry"
#: How long past its expiry a quick-support session may linger before the hub ends it itself (the agent
#: normally ends it on time and deregisters; this covers an agent that died or lost its network).
QUICK_SUPPORT_GRACE = timedelta(minutes=5)


async def refresh_statuses(plane: JobContext) -> int:
    """Recompute every device's status; returns how many changed (each change is published)."""
    async with plane.db.transaction() as session:
        changes = await status.refresh_statuses(session, plane.bus, now=utcnow(), settings=plane.settings)
    return len(changes)


async def end_expired_quick_support(plane: JobContext) -> int:
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


def add_jobs(scheduler: Scheduler, plane: JobContext) -> None:
    """Register the status and quick-support jobs."""

    async def status_job() -> int:
        return await refresh_statuses(plane)

    async def quick_support_job() -> int:
        return await end_expired_quick_support(plane)

    scheduler.add(STATUS_JOB, status_job, seconds=plane.settings.status_job_seconds)
    scheduler.add(QUICK_SUPPORT_JOB, quick_support_job, seconds=plane.settings.status_job_seconds)
