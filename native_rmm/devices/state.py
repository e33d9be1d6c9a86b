"""Live device health from metric samples: the newest sample, a trend and sparkline points."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.db import utcnow
from native_rmm.devices.schemas import DeviceState, DiskNow, MetricPoint, Trend
from native_rmm.models.devices import Device
from native_rmm.models.metrics import MetricSample

MAX_POINTS = 60


async def recent_samples(
    session: AsyncSession, *, device_id: int, since: datetime, limit: int = 10_000
) -> Sequence[MetricSample]:
    """Samples of a device taken at or after ``since``, oldest first (one index range scan)."""
    stmt = (
        select(MetricSample)
        .where(MetricSample.device_id == device_id, MetricSample.taken_at >= since)
        .order_by(MetricSample.taken_at)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


def _trend(values: list[float]) -> Trend | None:
    if not values:
        return None
    return Trend(minimum=min(values), average=round(sum(values) / len(values), 1), maximum=max(values))


def downsample(samples: Sequence[MetricSample], max_points: int = MAX_POINTS) -> list[MetricPoint]:
    """At most ``max_points`` points: each the average of consecutive samples."""
    if not samples:
        return []
    step = max(1, -(-len(samples) // max_points))
    points = []
    for i in range(0, len(samples), step):
        chunk = samples[i : i + step]
        disks = [s.disk_percent for s in chunk if s.disk_percent is not None]
        points.append(
            MetricPoint(
                at=chunk[-1].taken_at,
                cpu=round(sum(s.cpu_percent for s in chunk) / len(chunk), 1),
                memory=round(sum(s.memory_percent for s in chunk) / len(chunk), 1),
                disk=round(sum(disks) / len(disks), 1) if disks else None,
            )
        )
    return points


async def device_state(
    session: AsyncSession, device: Device, *, minutes: int = 60, now: datetime | None = None
) -> DeviceState:
    """The device's newest sample and its trend over the last ``minutes``."""
    now = now or utcnow()
    samples = await recent_samples(session, device_id=device.id, since=now - timedelta(minutes=minutes))
    state = DeviceState(
        device_id=device.id, hostname=device.hostname, status=device.status, sample_at=None, window_minutes=minutes
    )
    if not samples:
        latest = (
            await session.execute(
                select(MetricSample)
                .where(MetricSample.device_id == device.id)
                .order_by(MetricSample.taken_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if latest is None:
            state.note = "no metrics reported yet"
            return state
        samples = [latest]
        state.note = f"no samples in the last {minutes} minutes; showing the newest one"
    last = samples[-1]
    state.sample_at, state.cpu_percent, state.memory_percent = last.taken_at, last.cpu_percent, last.memory_percent
    state.memory_used_bytes, state.memory_total_bytes = last.memory_used_bytes, last.memory_total_bytes
    state.disk_percent, state.uptime_seconds = last.disk_percent, last.uptime_seconds
    state.disks = [DiskNow.model_validate(d) for d in last.disks[:32]]
    state.load = [last.load_1, last.load_5, last.load_15]
    state.samples = len(samples)
    state.cpu_trend = _trend([s.cpu_percent for s in samples])
    state.memory_trend = _trend([s.memory_percent for s in samples])
    state.disk_trend = _trend([s.disk_percent for s in samples if s.disk_percent is not None])
    state.points = downsample(samples)
    return state
