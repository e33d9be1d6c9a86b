"""The check-in cache: a steady-state check-in touches no database at all.

Per credential hash it keeps what a check-in answer needs (device id, org, stored status, list
hashes, whether inventory was ever received, interval) and, per device, whether a recent query
found no unacknowledged commands. The bus keeps it honest across replicas: ``command.queued``
clears a device's "nothing pending" mark (a per-device generation counter closes the race with
a query in flight), ``device.status_changed`` updates the stored status and
``device.credentials_changed`` (rotation, revocation, uninstall) drops the device's entries.
After the Redis bus reconnects (``bus.resynced``) the whole cache is dropped. Entries also expire
after ``ttl`` seconds, bounding staleness should an event be missed (a full subscriber queue, a
change made by the CLI without a bus).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

from hub.core.events import RESYNC_TOPIC, Event, EventBus
from hub.core.tasks import start_task, stop_task
from native_rmm.events import COMMAND_QUEUED, CREDENTIALS_CHANGED, DEVICE_STATUS_CHANGED
from native_rmm.models.devices import DeviceStatus

DEFAULT_TTL_SECONDS = 30.0


@dataclass(frozen=True)
class CachedDevice:
    """What a check-in needs to answer without the database."""

    device_id: int
    org_id: int
    status: DeviceStatus
    applications_hash: str | None
    patches_hash: str | None
    has_inventory: bool
    checkin_interval_seconds: int
    cached_at: float


class CheckinCache:
    """In-process cache of authenticated devices and their "nothing pending" marks."""

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._by_hash: dict[str, CachedDevice] = {}
        self._hashes: dict[int, set[str]] = {}
        self._no_pending: dict[int, float] = {}
        self._generation: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None

    def get(self, token_hash: str) -> CachedDevice | None:
        """The cached device of a credential hash, if fresh."""
        entry = self._by_hash.get(token_hash)
        if entry is None or time.monotonic() - entry.cached_at > self.ttl:
            return None
        return entry

    def put(self, token_hash: str, entry: CachedDevice) -> None:
        self._by_hash[token_hash] = entry
        self._hashes.setdefault(entry.device_id, set()).add(token_hash)

    def forget_device(self, device_id: int) -> None:
        """Drop every entry of a device (credentials changed)."""
        for token_hash in self._hashes.pop(device_id, set()):
            self._by_hash.pop(token_hash, None)
        self._no_pending.pop(device_id, None)

    def generation(self, device_id: int) -> int:
        """Bumped by every ``command.queued`` for the device."""
        return self._generation.get(device_id, 0)

    def command_queued(self, device_id: int) -> None:
        self._generation[device_id] = self.generation(device_id) + 1
        self._no_pending.pop(device_id, None)

    def mark_no_pending(self, device_id: int, generation: int) -> None:
        """Record that a query started at ``generation`` found nothing to hand out."""
        if generation == self.generation(device_id):
            self._no_pending[device_id] = time.monotonic()

    def has_no_pending(self, device_id: int) -> bool:
        at = self._no_pending.get(device_id)
        return at is not None and time.monotonic() - at <= self.ttl

    def clear(self) -> None:
        """Forget everything (the bus was down: any change may have been missed)."""
        self._by_hash.clear()
        self._hashes.clear()
        self._no_pending.clear()

    def status_changed(self, device_id: int, status: DeviceStatus) -> None:
        for token_hash in self._hashes.get(device_id, set()):
            entry = self._by_hash.get(token_hash)
            if entry is not None:
                self._by_hash[token_hash] = replace(entry, status=status)

    def on_local_event(self, event: Event) -> None:
        """This process committed ``event``: a queued command ends the device's "nothing pending" mark now."""
        queued = COMMAND_QUEUED.parse(event)
        if queued is not None:
            self.command_queued(queued.device_id)

    async def start(self, bus: EventBus) -> None:
        """Follow the bus (returns once subscribed)."""
        ready = asyncio.Event()
        self._task = start_task(self._follow(bus, ready), name="rmm-checkin-cache")
        async with asyncio.timeout(10):
            await ready.wait()

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _follow(self, bus: EventBus, ready: asyncio.Event) -> None:
        async with bus.subscribe(
            COMMAND_QUEUED.name, DEVICE_STATUS_CHANGED.name, CREDENTIALS_CHANGED.name, RESYNC_TOPIC
        ) as events:
            ready.set()
            async for event in events:
                if event.topic == RESYNC_TOPIC:
                    self.clear()
                    continue
                device_id = event.data.get("device_id")
                if not isinstance(device_id, int):
                    continue
                if event.topic == COMMAND_QUEUED.name:
                    self.command_queued(device_id)
                elif event.topic == CREDENTIALS_CHANGED.name:
                    self.forget_device(device_id)
                elif (changed := DEVICE_STATUS_CHANGED.parse(event)) is not None:  # None: a newer replica's status
                    self.status_changed(changed.device_id, changed.new)
