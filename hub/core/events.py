"""The event bus: "approval decided", "command queued for device X", "registry changed", live UI updates.

Two implementations share one interface: :class:`InProcessBus` (default, one hub process) and
:class:`RedisBus` (several replicas; every event crosses Redis pub/sub so each replica's local
subscribers see events published anywhere). Publish after commit with
:func:`hub.core.uow.publish_after_commit` so listeners never see state that was rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, Field, ValidationError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

DEFAULT_REDIS_CHANNEL = "rmmhub:events"
SUBSCRIBER_QUEUE_SIZE = 1000
RESYNC_TOPIC = "bus.resynced"  # delivered locally after the Redis subscription was restored
PING_SECONDS = 5.0
RECONNECT_MIN_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 5.0


class BusState(StrEnum):
    """What ``/healthz`` reports: ``disconnected`` means events from other replicas are not arriving."""

    IN_PROCESS = "in-process"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class Event(BaseModel):
    """A message on the bus. ``topic`` is dotted (``approval.decided``); subscribers match prefixes."""

    topic: str
    org_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


D = TypeVar("D", bound=BaseModel)


@dataclass(frozen=True)
class Topic(Generic[D]):
    """A bus topic and the model of its data: publishers build events and subscribers read them typed.

    The wire stays an :class:`Event` (its ``data`` a JSON object, so replicas of other versions can
    still read it); the model is the contract on both ends.
    """

    name: str
    model: type[D]

    def event(self, org_id: int | None, data: D) -> Event:
        """The event announcing ``data`` in ``org_id``."""
        return Event(topic=self.name, org_id=org_id, data=data.model_dump(mode="json"))

    def parse(self, event: Event) -> D | None:
        """``event``'s data as this topic's model; None for another topic or data that does not fit it
        (an event from a replica of another version: logged and skipped, never raised into a subscriber)."""
        if event.topic != self.name:
            return None
        try:
            return self.model.model_validate(event.data)
        except ValidationError as exc:
            log.warning("ignored a %s event whose data does not fit %s: %s", self.name, self.model.__name__, exc)
            return None


class EventBus(Protocol):
    """What publishers and subscribers rely on."""

    async def publish(self, event: Event) -> None:
        """Deliver ``event`` to every matching subscriber (on every replica)."""
        ...

    def subscribe(self, *prefixes: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]:
        """Receive events whose topic starts with one of ``prefixes`` (all events when none)."""
        ...

    @property
    def state(self) -> BusState:
        """Whether events from other replicas arrive."""
        ...

    async def start(self) -> None:
        """Connect (no-op in process)."""
        ...

    async def stop(self) -> None:
        """Disconnect."""
        ...


class _Subscription:
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes
        self.queue: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)

    def matches(self, topic: str) -> bool:
        return not self.prefixes or topic.startswith(self.prefixes)

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("event subscriber is not keeping up; dropped %s", event.topic)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()


class InProcessBus:
    """Delivers events to subscribers in this process."""

    def __init__(self) -> None:
        self._subscriptions: set[_Subscription] = set()

    def deliver_locally(self, event: Event) -> None:
        """Hand ``event`` to every matching local subscriber without blocking."""
        for sub in list(self._subscriptions):
            if sub.matches(event.topic):
                sub.offer(event)

    async def publish(self, event: Event) -> None:
        self.deliver_locally(event)

    @asynccontextmanager
    async def subscribe(self, *prefixes: str) -> AsyncIterator[AsyncIterator[Event]]:
        sub = _Subscription(prefixes)
        self._subscriptions.add(sub)
        try:
            yield sub.__aiter__()
        finally:
            self._subscriptions.discard(sub)

    @property
    def state(self) -> BusState:
        return BusState.IN_PROCESS

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._subscriptions.clear()


class RedisBus(InProcessBus):
    """Crosses replicas through one Redis pub/sub channel; local delivery happens on receipt.

    The subscriber heals: when its connection drops (a Redis restart, ``CLIENT KILL``, a dead
    network, found by a ping every ``ping_seconds``) it logs, reports :attr:`state` disconnected
    and reconnects with exponential back-off and jitter (``RECONNECT_MIN_SECONDS`` doubling up to
    ``RECONNECT_MAX_SECONDS``). Once subscribed again it logs how long it was down and delivers
    :data:`RESYNC_TOPIC` locally, so subscribers catch up with what they may have missed (pending
    commands of connected agents, cached state). A publish that cannot reach Redis is delivered
    to this replica's subscribers and logged, never raised into the request that committed it.
    """

    def __init__(self, url: str, channel: str = DEFAULT_REDIS_CHANNEL, *, ping_seconds: float = PING_SECONDS) -> None:
        super().__init__()
        self._url = url
        self._channel = channel
        self._ping_seconds = ping_seconds
        self._redis: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._state = BusState.DISCONNECTED
        # One name per bus instance, so an operator (or a test) can find this replica's connections.
        self.client_name = f"rmmhub-bus:{re.sub(r'[^A-Za-z0-9:_.-]', '_', channel)}:{uuid.uuid4().hex[:8]}"
        self.last_outage_seconds: float | None = None

    @property
    def state(self) -> BusState:
        return self._state

    async def start(self) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(
            self._url, client_name=self.client_name, socket_connect_timeout=2, socket_timeout=5
        )
        await self._redis.ping()
        self._reader = asyncio.create_task(self._read(), name="redis-event-bus")
        async with asyncio.timeout(10):
            await self._ready.wait()

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        delay, lost_at = RECONNECT_MIN_SECONDS, None
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                self._state = BusState.CONNECTED
                self._ready.set()
                if lost_at is not None:
                    self.last_outage_seconds = loop.time() - lost_at
                    log.warning(
                        "event bus: resubscribed to Redis %s after %.2f s; resynchronising",
                        self._channel,
                        self.last_outage_seconds,
                    )
                    self.deliver_locally(Event(topic=RESYNC_TOPIC, data={"outage_seconds": self.last_outage_seconds}))
                    lost_at = None
                delay = RECONNECT_MIN_SECONDS
                await self._listen(pubsub)
            except (RedisError, OSError, _Stale) as exc:
                if lost_at is None:
                    lost_at = loop.time()
                    self._state = BusState.DISCONNECTED
                    log.warning("event bus: lost the Redis subscription to %s (%s); reconnecting", self._channel, exc)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # redis-py may swallow a cancel inside aclose()
                raise asyncio.CancelledError
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _listen(self, pubsub: Any) -> None:
        loop = asyncio.get_running_loop()
        heard = pinged = loop.time()
        while True:
            message = await pubsub.get_message(timeout=self._ping_seconds)
            now = loop.time()
            if message is not None:
                heard = now
                if message.get("type") == "message":
                    self._receive(message["data"])
            if now - heard > 3 * self._ping_seconds:
                raise _Stale(f"no answer from Redis for {now - heard:.1f} s")
            if now - pinged >= self._ping_seconds:
                await pubsub.ping()
                pinged = now

    def _receive(self, data: bytes) -> None:
        try:
            event = Event.model_validate_json(data)
        except ValidationError as exc:
            log.warning("ignored a malformed event on %s: %s", self._channel, exc)
            return
        self.deliver_locally(event)

    async def publish(self, event: Event) -> None:
        try:
            await self._redis.publish(self._channel, event.model_dump_json())
        except (RedisError, OSError) as exc:
            log.warning(
                "event bus: could not publish %s to Redis (%s); delivered on this replica only", event.topic, exc
            )
            self.deliver_locally(event)

    async def stop(self) -> None:
        reader, self._reader = self._reader, None
        while reader is not None and not reader.done():  # bounded: one cancel per second until it ends
            reader.cancel()
            await asyncio.wait({reader}, timeout=1)
        if reader is not None and not reader.cancelled() and reader.exception() is not None:
            log.error("event bus: the Redis reader had failed: %r", reader.exception())
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):  # a dead Redis does not hold up shutdown
                await self._redis.aclose()
            self._redis = None
        self._state = BusState.DISCONNECTED
        await super().stop()


class _Stale(Exception):
    """The subscription stopped answering pings."""


def create_bus(redis_url: str | None, channel: str = DEFAULT_REDIS_CHANNEL) -> EventBus:
    """The Redis bus when a URL is configured, else the in-process one.

    ``channel`` separates deployments that share one Redis server (``RMMHUB_REDIS_CHANNEL``).
    """
    return RedisBus(redis_url, channel) if redis_url else InProcessBus()
