"""The scheduled job running due monitors concurrently (bounded), outside any DB transaction.

One run: claim the due monitors (move their ``next_run_at`` forward, so an overlapping run or a
slow probe never runs a monitor twice), probe them with at most ``concurrency`` in flight, then
record every result in one unit of work.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select

from hub.core.context import HubContext
from hub.core.db import utcnow
from native_rmm.models.monitors import Monitor
from native_rmm.monitors import service
from native_rmm.monitors.checks import CheckResult, MonitorSpec, Probes, run_check

log = logging.getLogger(__name__)

JOB_NAME = "rmm-monitors"
JOB_INTERVAL_SECONDS = 15
DEFAULT_CONCURRENCY = 20
BATCH_LIMIT = 500


async def run_due(hub: HubContext, *, probes: Probes | None = None, concurrency: int = DEFAULT_CONCURRENCY) -> int:
    """Run every enabled monitor whose ``next_run_at`` has come; returns how many ran.

    ``probes`` defaults to the hub's :class:`Probes` component when one is wired, else real network.
    """
    probes = probes or hub.components.find(Probes) or Probes()
    now = utcnow()
    async with hub.db.transaction() as session:
        stmt = (
            select(Monitor)
            .where(Monitor.enabled.is_(True), Monitor.next_run_at <= now)
            .order_by(Monitor.next_run_at)
            .limit(BATCH_LIMIT)
        )
        due = (await session.execute(stmt)).scalars().all()
        specs = [MonitorSpec.of(m) for m in due]
        for monitor in due:  # claimed: a probe that outlives the interval is not started twice
            monitor.next_run_at = now + timedelta(seconds=monitor.interval_seconds + monitor.timeout_seconds)
    if not specs:
        return 0
    gate = asyncio.Semaphore(concurrency)

    async def probe(spec: MonitorSpec) -> CheckResult:
        async with gate:
            return await run_check(spec, probes)

    results = await asyncio.gather(*(probe(spec) for spec in specs))
    async with hub.db.transaction() as session:
        for spec, result in zip(specs, results, strict=True):
            current = await session.get(Monitor, spec.id)
            if current is None or not current.enabled:
                continue  # deleted or disabled while it was being probed
            await service.record_result(session, monitor=current, result=result, bus=hub.bus)
    log.debug("ran %d monitors", len(specs))
    return len(specs)
