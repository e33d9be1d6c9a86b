"""One browser viewer of a session: its socket, its own send queue and its rights.

Every viewer has a queue of its own, so a slow viewer never makes the relay wait on its socket
while others are being served. The queue's writer task exists only while there is something to
send: an idle viewer holds no task. The agent is paced by the fastest viewer (see ``Session``), and a
viewer that falls more than ``max_lag_bytes`` behind is disconnected rather than allowed to stall
or grow without bound.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from hub.core.tickets import TicketRole
from relay.rfb import ViewOnlyFilter

CLOSE_TOO_SLOW = 4413


class Lane:
    """A viewer slot (0..3) of a session."""

    def __init__(
        self, slot: int, role: TicketRole, user: str, ws: ServerConnection, *, high_water: int, max_lag: int
    ) -> None:
        self.slot = slot
        self.prefix = bytes((slot,))  # the channel byte of this viewer's frames to the agent
        self.role = role
        self.user = user
        self.ws: ServerConnection | None = ws
        self.resume = secrets.token_urlsafe(24)
        self.view_only = role is TicketRole.VIEWER
        self._rfb_filter: ViewOnlyFilter | None = None
        self._queue: deque[bytes | memoryview | str] = deque()
        self._queued = 0
        self._high_water = high_water
        self._max_lag = max_lag
        self.drained = asyncio.Event()
        self.drained.set()
        self._writer: asyncio.Task[None] | None = None

    @property
    def rfb_filter(self) -> ViewOnlyFilter:
        """The RFB input filter (screen sessions only; made on first use)."""
        if self._rfb_filter is None:
            self._rfb_filter = ViewOnlyFilter()
        return self._rfb_filter

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting for this viewer's socket."""
        return self._queued

    @property
    def below_high_water(self) -> bool:
        """Whether the agent may send more on this viewer's account."""
        return self._queued < self._high_water

    def attach(self, ws: ServerConnection) -> None:
        """(Re)bind the lane to a socket (and send what waited for it)."""
        self.ws = ws
        self._wake()

    def _wake(self) -> None:
        if self._writer is None and self.ws is not None and self._queue:
            self._writer = asyncio.create_task(self._drain(self.ws), name=f"relay-lane-{self.slot}")

    def push(self, message: bytes | memoryview | str) -> bool:
        """Queue a message; False when the viewer is too far behind and must be dropped."""
        if self._queued + len(message) > self._max_lag:
            return False
        self._queue.append(message)
        self._queued += len(message)
        if not self.below_high_water:
            self.drained.clear()
        self._wake()
        return True

    async def _drain(self, ws: ServerConnection) -> None:
        try:
            while self._queue and self.ws is ws:
                message = self._queue.popleft()
                await ws.send(message)
                self._queued -= len(message)
                if self.below_high_water:
                    self.drained.set()
        except ConnectionClosed:
            return
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    async def detach(self) -> None:
        """Stop the writer (the socket is closed by its handler)."""
        self.ws = None
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        self._queue.clear()
        self._queued = 0
        self.drained.set()
