"""The ingest writer: check-ins never commit a single sample row themselves.

Request handlers :meth:`IngestWriter.submit` small items (a metric sample with the device's
liveness, a WebSocket pong, a command delivered or acknowledged) to a bounded in-process queue.
One task drains it every ``ingest_flush_seconds`` (sooner when ``ingest_batch_rows`` are waiting)
and writes the whole batch in one transaction with ``executemany``: sample rows inserted, each
device's ``last_seen_at`` and latest metrics updated once. On SQLite this keeps a single writer
behind the WAL instead of hundreds of competing one-row commits ("database is locked"); on
PostgreSQL it turns N round trips and fsyncs into one.

Back-pressure: when the queue is full, :meth:`submit` waits up to ``ingest_submit_timeout_seconds``
and then raises :class:`IngestBusy` (the agent API answers 503 and the agent retries later).

After the batch commits, devices that came back from OFFLINE/UNRESPONSIVE get their status
refreshed, and the newest sample of each device is handed to a separate evaluator task that runs
the alert hook (``native_rmm.alerts.service.evaluate_sample``) in its own transactions: a slow or
failing rule can neither lose metrics nor hold up the writer (it coalesces to the newest sample
per device when it falls behind).
:meth:`stop` flushes what is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Table, and_, bindparam, case, func, insert, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import CommandStatus, MetricsSample
from hub.core.db import Database, utcnow
from hub.core.errors import RmmHubError
from hub.core.events import EventBus
from hub.core.tasks import start_task, stop_task
from native_rmm.devices import status
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from native_rmm.models.metrics import MetricSample
from native_rmm.settings import RmmSettings

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 3
EVALUATE_CHUNK = 200
EVALUATE_PAUSE_SECONDS = 1.0


class IngestBusy(RuntimeError):
    """The ingest queue stayed full: the database is not keeping up; retry later."""


class SampleHook(Protocol):
    """``evaluate_sample`` of the alerts domain."""

    def __call__(
        self, session: AsyncSession, *, org_id: int, device_id: int, sample: MetricsSample, bus: EventBus | None = ...
    ) -> Awaitable[None]: ...


@dataclass(frozen=True)
class SampleItem:
    """An accepted check-in: its sample and the device's liveness."""

    org_id: int
    device_id: int
    sample: MetricsSample
    seen_at: datetime
    agent_version: str
    refresh_status: bool = False


@dataclass(frozen=True)
class WsSeenItem:
    """A pong (or hello) on the device's WebSocket."""

    device_id: int
    at: datetime
    refresh_status: bool = False


@dataclass(frozen=True)
class DeliveredItem:
    """A command pushed or handed out: ``queued`` -> ``delivered``."""

    command_id: int
    at: datetime
    deadline_at: datetime


@dataclass(frozen=True)
class AckedItem:
    """The agent acknowledged a command (by its wire id)."""

    device_id: int
    uid: str
    at: datetime


Item = SampleItem | WsSeenItem | DeliveredItem | AckedItem


def _sample_row(item: SampleItem, now: datetime) -> dict[str, Any]:
    s = item.sample
    return {
        "device_id": item.device_id,
        "taken_at": min(s.taken_at, now + timedelta(minutes=5)),
        "cpu_percent": s.cpu_percent,
        "memory_percent": s.memory_percent,
        "memory_used_bytes": s.memory_used_bytes,
        "memory_total_bytes": s.memory_total_bytes,
        "disk_percent": max((d.used_percent for d in s.disks), default=None),
        "disks": [d.model_dump(mode="json") for d in s.disks],
        "load_1": s.load_1,
        "load_5": s.load_5,
        "load_15": s.load_15,
        "uptime_seconds": s.uptime_seconds,
        "net_sent_bps": s.network.sent_bytes_per_s if s.network else None,
        "net_recv_bps": s.network.recv_bytes_per_s if s.network else None,
    }


class IngestWriter:
    """Buffers ingest items and writes them in batches (one per process, started by the module)."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        settings: RmmSettings,
        *,
        sample_hook: SampleHook | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._bus = bus
        self._settings = settings
        self._hook = sample_hook
        self._clock = clock
        self._queue: asyncio.Queue[Item] = asyncio.Queue(settings.ingest_queue_rows)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._evaluator: asyncio.Task[None] | None = None
        self._in_flight: asyncio.Future[int] | None = None  # the batch the flusher is writing
        self._to_evaluate: dict[int, SampleItem] = {}
        self._evaluate_wanted = asyncio.Event()
        self._lock = asyncio.Lock()
        self.written_samples = 0
        self.dropped_items = 0

    async def start(self) -> None:
        """Start the flusher task."""
        self._task = start_task(self._run(), name="rmm-ingest-writer")
        self._evaluator = start_task(self._evaluate_loop(), name="rmm-alert-evaluator")

    async def stop(self) -> None:
        """Stop the flusher and write everything still queued."""
        for task in (self._task, self._evaluator):
            await stop_task(task)
        self._task = self._evaluator = None
        if self._in_flight is not None:  # the batch the flusher was writing when it stopped
            await asyncio.wait([self._in_flight])
            self._in_flight = None
        await self.flush()
        await self.evaluate_pending()

    async def submit(self, item: Item) -> None:
        """Queue ``item``; waits while the queue is full, then raises :class:`IngestBusy`."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._wake.set()
            try:
                async with asyncio.timeout(self._settings.ingest_submit_timeout_seconds):
                    await self._queue.put(item)
            except TimeoutError as exc:
                raise IngestBusy("the hub is busy storing metrics; retry the check-in later") from exc
        if self._queue.qsize() >= self._settings.ingest_batch_rows:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Items waiting to be written."""
        return self._queue.qsize()

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """No batch is written while inside: what is submitted stays queued (tests; never flush inside)."""
        async with self._lock:
            yield

    async def flush(self) -> int:
        """Write everything queued now and evaluate alerts (tests, shutdown); returns items written."""
        total = 0
        while not self._queue.empty():
            total += await self._write_next_batch()
        await self.evaluate_pending()
        return total

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.ingest_flush_seconds):
                    await self._wake.wait()
            self._wake.clear()
            # Write what is queued now, then wait again: draining "until empty" under steady load
            # would degrade into many tiny transactions.
            for _ in range(-(-self._queue.qsize() // self._settings.ingest_batch_rows)):
                # Shielded: stopping cancels this loop, never a batch already taken off the queue.
                self._in_flight = asyncio.ensure_future(self._write_next_batch())
                await asyncio.shield(self._in_flight)

    async def _write_next_batch(self) -> int:
        async with self._lock:
            batch: list[Item] = []
            while len(batch) < self._settings.ingest_batch_rows and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if not batch:
                return 0
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                try:
                    await self._write(batch)
                    break
                except (SQLAlchemyError, OSError):  # database trouble: retried, then reported with what was lost
                    if attempt == WRITE_ATTEMPTS:
                        self.dropped_items += len(batch)
                        log.exception("ingest batch of %d items could not be written; dropped", len(batch))
                        return 0
                    log.warning("ingest batch write failed (attempt %d); retrying", attempt, exc_info=True)
                    await asyncio.sleep(0.2 * attempt)
            await self._after_write(batch)
            return len(batch)

    async def _write(self, batch: list[Item]) -> None:
        now = self._clock()
        samples = [i for i in batch if isinstance(i, SampleItem)]
        latest: dict[int, SampleItem] = {}
        for sample in samples:
            if sample.device_id not in latest or sample.seen_at >= latest[sample.device_id].seen_at:
                latest[sample.device_id] = sample
        seen: dict[int, datetime] = {}
        for item in batch:
            if isinstance(item, WsSeenItem):
                seen[item.device_id] = max(item.at, seen.get(item.device_id, item.at))
        delivered = [i for i in batch if isinstance(i, DeliveredItem)]
        acked = [i for i in batch if isinstance(i, AckedItem)]
        async with self._db.transaction() as session:
            if samples:
                await session.execute(_INSERT_SAMPLES, [_sample_row(i, now) for i in samples])
                await session.execute(_UPDATE_LIVENESS, [self._device_row(i) for i in latest.values()])
            if seen:
                await session.execute(_UPDATE_WS_SEEN, [{"b_id": d, "b_at": at} for d, at in seen.items()])
            if delivered:
                await session.execute(
                    _DELIVERED, [{"b_cid": i.command_id, "b_at": i.at, "b_dl": i.deadline_at} for i in delivered]
                )
            if acked:
                await session.execute(_ACKED, [{"b_uid": i.uid, "b_dev": i.device_id, "b_at": i.at} for i in acked])
        self.written_samples += len(samples)

    @staticmethod
    def _device_row(item: SampleItem) -> dict[str, Any]:
        s = item.sample
        return {
            "b_id": item.device_id,
            "b_seen": item.seen_at,
            "b_metrics_at": s.taken_at,
            "b_cpu": s.cpu_percent,
            "b_memory": s.memory_percent,
            "b_disk": max((d.used_percent for d in s.disks), default=None),
            "b_version": item.agent_version,
        }

    async def _after_write(self, batch: list[Item]) -> None:
        for item in batch:
            if isinstance(item, SampleItem):
                self._to_evaluate[item.device_id] = item
        if self._to_evaluate:
            self._evaluate_wanted.set()
        refresh = sorted({i.device_id for i in batch if isinstance(i, SampleItem | WsSeenItem) and i.refresh_status})
        if refresh:
            async with self._db.transaction() as session:
                await status.refresh_statuses(
                    session, self._bus, now=self._clock(), settings=self._settings, device_ids=refresh
                )

    async def _evaluate_loop(self) -> None:
        """Alert evaluation off the write path: newest stored sample per device, coalesced.

        When evaluation is slower than ingest, a device's older samples are skipped (its newest
        one is what thresholds are judged on), so this never holds up the writer.
        """
        while True:
            await self._evaluate_wanted.wait()
            self._evaluate_wanted.clear()
            await self.evaluate_pending()
            await asyncio.sleep(EVALUATE_PAUSE_SECONDS)  # under a flood, rounds coalesce instead of spinning

    async def evaluate_pending(self) -> int:
        """Run the sample hook for the newest stored sample of every device waiting; returns how many."""
        if self._hook is None:
            self._to_evaluate.clear()
            return 0
        items, self._to_evaluate = list(self._to_evaluate.values()), {}
        for start in range(0, len(items), EVALUATE_CHUNK):
            chunk = items[start : start + EVALUATE_CHUNK]
            try:
                async with self._db.transaction() as session:
                    for item in chunk:
                        await self._hook(
                            session, org_id=item.org_id, device_id=item.device_id, sample=item.sample, bus=self._bus
                        )
            except (SQLAlchemyError, RmmHubError, ValueError):  # samples are stored; a failing rule is logged
                log.exception("alert evaluation failed for a chunk of %d devices", len(chunk))
        return len(items)


_commands = cast(Table, Command.__table__)
_devices = cast(Table, Device.__table__)
# Core statements with executemany: the ORM's per-row bookkeeping is not needed on this path.
_INSERT_SAMPLES = insert(cast(Table, MetricSample.__table__))
_UPDATE_LIVENESS = (
    update(_devices)
    .where(_devices.c.id == bindparam("b_id"))
    .values(
        last_seen_at=bindparam("b_seen"),
        last_metrics_at=bindparam("b_metrics_at"),
        last_cpu_percent=bindparam("b_cpu"),
        last_memory_percent=bindparam("b_memory"),
        last_disk_percent=bindparam("b_disk"),
        agent_version=bindparam("b_version"),
    )
)
_UPDATE_WS_SEEN = update(_devices).where(_devices.c.id == bindparam("b_id")).values(ws_seen_at=bindparam("b_at"))
_DELIVERED = (
    update(_commands)
    .where(and_(_commands.c.id == bindparam("b_cid"), _commands.c.status == CommandStatus.QUEUED.value))
    .values(status=CommandStatus.DELIVERED.value, delivered_at=bindparam("b_at"), deadline_at=bindparam("b_dl"))
)
_ACKED = (
    update(_commands)
    .where(
        and_(
            _commands.c.uid == bindparam("b_uid"),
            _commands.c.device_id == bindparam("b_dev"),
            _commands.c.acked_at.is_(None),
        )
    )
    .values(
        acked_at=bindparam("b_at"),
        delivered_at=func.coalesce(_commands.c.delivered_at, bindparam("b_at")),
        status=case(
            (_commands.c.status == CommandStatus.QUEUED.value, CommandStatus.DELIVERED.value),
            else_=_commands.c.status,
        ),
    )
)
