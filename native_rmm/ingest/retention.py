"""Retention: delete metric samples older than ``sample_retention_days``, a batch per transaction.

Small batches keep each transaction short, so check-in flushes (and, on SQLite, every other
writer) are never blocked behind one huge delete.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import delete, select

from hub.core.db import Database
from native_rmm.models.metrics import MetricSample


async def prune_samples(db: Database, *, older_than: datetime, batch_rows: int, max_batches: int = 10_000) -> int:
    """Delete samples taken before ``older_than``; returns how many rows went."""
    total = 0
    for _ in range(max_batches):
        oldest = select(MetricSample.id).where(MetricSample.taken_at < older_than).limit(batch_rows)
        async with db.transaction() as session:
            result = await session.execute(
                delete(MetricSample).where(MetricSample.id.in_(oldest.scalar_subquery())),
                execution_options={"synchronize_session": False},
            )
        deleted = int(result.rowcount)  # type: ignore[attr-defined]
        total += deleted
        if deleted < batch_rows:
            break
        await asyncio.sleep(0)
    return total
