"""The relay's one node-wide keepalive: a socket that answers pings stays, one that goes silent is closed.

The silent peer is a raw TCP socket that completes the WebSocket handshake and then never reads or
answers (what a peer behind a dead NAT looks like); the live one is a websockets client, which
answers pings on its own.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable

from hub.core.tickets import TicketRole
from relay.config import RelayConfig
from relay.server import RelayServer
from tests.relay.conftest import SECRET, RelayNode, recv_control


async def _silent_peer(url: str, ticket: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("ws://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /relay/v1?ticket={ticket} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def _close_code(reader: asyncio.StreamReader) -> int:
    """Read server frames (unmasked, short) until the close frame; its status code."""
    while True:
        first, second = await reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await reader.readexactly(8))
        payload = await reader.readexactly(length)
        if first & 0x0F == 0x8:
            return int(struct.unpack("!H", payload[:2])[0])


async def test_a_silent_socket_is_closed_and_a_live_one_stays(session_id: Callable[[], str]) -> None:
    config = RelayConfig(secret=SECRET, ping_interval=0.2, ping_timeout=0.2, pair_timeout=30, reconnect_grace=30)
    node = RelayNode(RelayServer(config), "")
    node.server = RelayServer(config, node.sink)
    node.url = f"ws://127.0.0.1:{await node.server.start('127.0.0.1', 0)}"
    try:
        sid = session_id()
        agent = await node.dial(node.ticket(sid, TicketRole.AGENT))
        await recv_control(agent, "hello")
        reader, writer = await _silent_peer(node.url, node.ticket(sid, TicketRole.CONTROLLER))
        async with asyncio.timeout(10):
            assert await _close_code(reader) == 1011  # no pong by the next round: closed
        writer.close()
        # The agent answered every ping meanwhile: it is still connected and still relays.
        assert sid in node.server.sessions and node.server.sessions[sid].agent is not None
        await agent.ping()
        await agent.close()
    finally:
        await node.server.stop()


async def test_no_task_per_idle_socket(relay: RelayNode, session_id: Callable[[], str]) -> None:
    """An idle paired session holds no keepalive, writer or idle-clock task in the relay."""
    sid = session_id()
    agent = await relay.dial(relay.ticket(sid, TicketRole.AGENT), ping_interval=None)
    viewer = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER), ping_interval=None)
    await recv_control(viewer, "hello")
    await recv_control(agent, "open")
    session = relay.server.sessions[sid]
    assert session.agent is not None and session.viewer_count == 1
    names = [task.get_coro().__qualname__ for task in asyncio.all_tasks()]  # type: ignore[union-attr]
    assert "Connection.keepalive" not in names  # the clients here send no pings: any would be the relay's
    assert not [n for n in names if n.startswith(("Lane.", "Session."))]
    await agent.close()
    await viewer.close()
