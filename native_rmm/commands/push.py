"""Push: the per-process registry of agent WebSockets and the dispatcher that feeds them.

Each replica keeps ``device_id -> AgentConnection`` for the sockets it holds. The dispatcher
listens on the bus: ``command.queued`` is pushed by whichever replica holds that device's socket
(the others ignore it), ``device.ws_connected`` closes an older socket of the same device on
any replica with 4409 (replaced), a revocation (``device.credentials_changed`` with ``revoked``)
closes the device's socket with 4401 wherever it is, and ``bus.resynced`` (the Redis bus came
back) pushes what this replica's agents have not acknowledged. A connection sends from one task draining its outbox, so
pushes, pings and result acks never interleave on the wire.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from agent.protocol import WS_CLOSE_REPLACED, WS_CLOSE_UNAUTHORIZED, CommandMessage, CommandSpec
from hub.core.db import utcnow
from hub.core.events import RESYNC_TOPIC, Event, EventBus
from hub.core.tasks import start_task, stop_task
from native_rmm.events import COMMAND_QUEUED, CREDENTIALS_CHANGED, DEVICE_CONNECTED

log = logging.getLogger(__name__)
OUTBOX_SIZE = 1000

Sender = Callable[[str], Awaitable[None]]
Closer = Callable[[int, str], Awaitable[None]]
Delivered = Callable[[int, int, datetime], Awaitable[None]]
Resync = Callable[[list["AgentConnection"]], Awaitable[int]]


class AgentConnection:
    """One live agent WebSocket: an outbox drained by a single sender task."""

    def __init__(self, *, device_id: int, org_id: int, connection_id: str, send: Sender, close: Closer) -> None:
        self.device_id = device_id
        self.org_id = org_id
        self.connection_id = connection_id
        self._send = send
        self._close = close
        self._outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_SIZE)
        self.closed = asyncio.Event()
        #: Set once the hub has finished with this connection: unregistered and its disconnect written.
        self.ended = asyncio.Event()

    def enqueue(self, text: str) -> bool:
        """Queue a message for sending; False when the connection is closed or hopelessly behind."""
        if self.closed.is_set():
            return False
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("device %s is not reading its WebSocket; closing it", self.device_id)
            self.closed.set()
            return False
        return True

    async def run_sender(self) -> None:
        """Send queued messages until the connection closes (the WebSocket handler runs this)."""
        while not self.closed.is_set():
            text = await self._outbox.get()
            await self._send(text)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket (idempotent)."""
        if self.closed.is_set():
            return
        self.closed.set()
        await self._close(code, reason)


class ConnectionRegistry:
    """``device_id -> AgentConnection`` of this process."""

    def __init__(self) -> None:
        self._by_device: dict[int, AgentConnection] = {}

    def __len__(self) -> int:
        return len(self._by_device)

    def get(self, device_id: int) -> AgentConnection | None:
        """The live connection of a device on this replica."""
        return self._by_device.get(device_id)

    def register(self, conn: AgentConnection) -> AgentConnection | None:
        """Make ``conn`` the device's connection; returns the one it replaces (the caller closes it)."""
        previous = self._by_device.get(conn.device_id)
        self._by_device[conn.device_id] = conn
        return previous if previous is not conn else None

    def unregister(self, conn: AgentConnection) -> bool:
        """Forget ``conn`` if it is still the device's connection; returns whether it was."""
        if self._by_device.get(conn.device_id) is conn:
            del self._by_device[conn.device_id]
            return True
        return False

    def all(self) -> list[AgentConnection]:
        """Every live connection of this process."""
        return list(self._by_device.values())

    async def close_all(self, code: int, reason: str) -> None:
        """Close every connection (shutdown)."""
        for conn in list(self._by_device.values()):
            await conn.close(code, reason)
        self._by_device.clear()


def command_message(spec: CommandSpec) -> str:
    """The JSON text of a pushed command."""
    return CommandMessage(command=spec).model_dump_json()


class PushDispatcher:
    """Bus listener pushing queued commands to this replica's sockets."""

    def __init__(
        self, bus: EventBus, registry: ConnectionRegistry, *, on_delivered: Delivered, on_resync: Resync | None = None
    ) -> None:
        self._bus = bus
        self._registry = registry
        self._on_delivered = on_delivered
        self._on_resync = on_resync
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Subscribe and start listening (returns once subscribed)."""
        self._task = start_task(self._listen(), name="rmm-push-dispatcher")
        async with asyncio.timeout(10):
            await self._ready.wait()

    async def stop(self) -> None:
        """Stop listening."""
        await stop_task(self._task)
        self._task = None

    async def _listen(self) -> None:
        async with self._bus.subscribe(
            COMMAND_QUEUED.name, DEVICE_CONNECTED.name, CREDENTIALS_CHANGED.name, RESYNC_TOPIC
        ) as events:
            self._ready.set()
            async for event in events:
                await self.handle(event)

    async def handle(self, event: Event) -> None:
        """Act on one event (public for tests)."""
        if event.topic == RESYNC_TOPIC:
            if self._on_resync is not None:
                conns = self._registry.all()
                pushed = await self._on_resync(conns)
                log.info(
                    "bus resynchronised: pushed %d pending command(s) to %d connected agent(s)", pushed, len(conns)
                )
            return
        device_id = event.data.get("device_id")
        if not isinstance(device_id, int):
            return
        conn = self._registry.get(device_id)
        if conn is None:
            return
        credentials = CREDENTIALS_CHANGED.parse(event)
        if credentials is not None:
            if credentials.revoked:
                self._registry.unregister(conn)
                await conn.close(WS_CLOSE_UNAUTHORIZED, "the device credential was revoked")
                log.info("device %s: credential revoked; closed its WebSocket", device_id)
            return
        connected = DEVICE_CONNECTED.parse(event)
        if connected is not None:
            if connected.connection_id != conn.connection_id:
                self._registry.unregister(conn)
                await conn.close(WS_CLOSE_REPLACED, "another connection of this device took over")
            return
        queued = COMMAND_QUEUED.parse(event)
        if queued is None:
            return
        if conn.enqueue(command_message(queued.spec)):
            await self._on_delivered(queued.command_id, queued.spec.timeout_seconds, utcnow())
