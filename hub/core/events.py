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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, Field, ValidationError

log = logging.getLogger(__name__)

DEFAULT_REDIS_CHANNEL = "rmmhub:events"
SUBSCRIBER_QUEUE_SIZE = 1000


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

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._subscriptions.clear()


class RedisBus(InProcessBus):
    """Crosses replicas through one Redis pub/sub channel; local delivery happens on receipt."""

    def __init__(self, url: str, channel: str = DEFAULT_REDIS_CHANNEL) -> None:
        super().__init__()
        self._url = url
        self._channel = channel
        self._redis: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(self._url)
        await self._redis.ping()
        self._reader = asyncio.create_task(self._read(), name="redis-event-bus")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _read(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel)
        self._ready.set()
        try:
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    event = Event.model_validate_json(message["data"])
                except ValidationError as exc:
                    log.warning("ignored a malformed event on %s: %s", self._channel, exc)
                    continue
                self.deliver_locally(event)
        finally:
            await pubsub.aclose()

    async def publish(self, event: Event) -> None:
        await self._redis.publish(self._channel, event.model_dump_json())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._redis is not None:
            await self._redis.aclose()
        await super().stop()


def create_bus(redis_url: str | None, channel: str = DEFAULT_REDIS_CHANNEL) -> EventBus:
    """The Redis bus when a URL is configured, else the in-process one.

    ``channel`` separates deployments that share one Redis server (``RMMHUB_REDIS_CHANNEL``).
    """
    return RedisBus(redis_url, channel) if redis_url else InProcessBus()
