"""A real relay node on loopback and helpers to mint tickets for it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.client import ClientConnection, connect

from hub.core.tickets import SessionEvent, SessionKind, TicketRole, mint, new_session_id
from relay.config import RelayConfig
from relay.server import RelayServer

SECRET = "relay-test-secret-key-0123456789abcdef"


@dataclass
class RelayNode:
    """A running relay and what it reported."""

    server: RelayServer
    url: str
    events: list[SessionEvent] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def sink(self, batch: list[SessionEvent]) -> None:
        self.events.extend(batch)
        self.arrived.set()

    async def wait_kind(self, kind: str) -> None:
        """Wait (bounded) until the relay has reported an event of ``kind``."""
        async with asyncio.timeout(5):
            while kind not in self.kinds():
                self.arrived.clear()
                await self.arrived.wait()

    def ticket(self, session: str, role: TicketRole, kind: SessionKind = SessionKind.SHELL, user: str = "tech") -> str:
        return mint(SECRET, session=session, role=role, kind=kind, relay=self.url, user=user)

    async def dial(self, ticket: str, **kwargs: object) -> ClientConnection:
        return await connect(f"{self.url}/relay/v1?ticket={ticket}", compression=None, **kwargs)  # type: ignore[arg-type]

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]


async def recv_control(ws: ClientConnection, kind: str) -> dict[str, object]:
    """Read until a control message of ``kind`` arrives (binary frames in between are skipped; bounded)."""
    async with asyncio.timeout(30):
        while True:
            message = await ws.recv()
            if isinstance(message, str):
                payload = json.loads(message)
                if payload.get("type") == kind:
                    return dict(payload)


async def recv_binary(ws: ClientConnection) -> bytes:
    """Read until a binary frame arrives."""
    while True:
        message = await ws.recv()
        if isinstance(message, bytes):
            return message


@pytest.fixture
def relay_config() -> RelayConfig:
    return RelayConfig(secret=SECRET, reconnect_grace=5, pair_timeout=5)


@pytest.fixture
async def relay(relay_config: RelayConfig) -> AsyncIterator[RelayNode]:
    node = RelayNode(RelayServer(relay_config), "")
    node.server = RelayServer(relay_config, node.sink)
    port = await node.server.start("127.0.0.1", 0)
    node.url = f"ws://127.0.0.1:{port}"
    yield node
    await node.server.stop()


@pytest.fixture
def session_id() -> Callable[[], str]:
    return new_session_id
