"""The agent's bridges through a real relay: a real PTY shell and a real x11vnc on Xvfb."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection

from agent.remote.bridge import Bridge
from hub.core.tickets import SessionKind, TicketRole
from tests.relay.conftest import RelayNode, recv_control
from tests.vnc import Desktop, vnc_server_fixture  # noqa: F401 (the vnc_server fixture)


async def read_until(ws: ClientConnection, needle: bytes, seen: bytearray | None = None) -> bytes:
    """Collect binary output until ``needle`` shows up (bounded)."""
    buf = seen if seen is not None else bytearray()
    async with asyncio.timeout(10):
        while needle not in buf:
            message = await ws.recv()
            if isinstance(message, bytes):
                buf += message
    return bytes(buf)


@pytest.fixture
async def shell_session(
    relay: RelayNode, session_id: Callable[[], str]
) -> AsyncIterator[tuple[str, Bridge, asyncio.Task[str]]]:
    sid = session_id()
    bridge = Bridge(relay.url, relay.ticket(sid, TicketRole.AGENT), "shell", shell_argv=["/bin/bash", "--norc", "-i"])
    task = asyncio.create_task(bridge.run())
    yield sid, bridge, task
    if not task.done():
        await relay.server.end_session(sid, "test over")
    await asyncio.wait_for(task, 10)


async def test_typed_command_runs_in_a_real_pty(
    relay: RelayNode, shell_session: tuple[str, Bridge, asyncio.Task[str]]
) -> None:
    sid, _, task = shell_session
    tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER))
    await recv_control(tech, "hello")
    await tech.send(b"echo hel''lo\r")
    out = await read_until(tech, b"hello\r\n")
    assert b"hello" in out
    await tech.send(json.dumps({"type": "resize", "cols": 132, "rows": 40}))
    await tech.send(b"stty size\r")
    await read_until(tech, b"40 132")
    await tech.send(b"exit\r")
    assert await asyncio.wait_for(task, 10) == "the remote shell exited (0)"


async def test_view_only_keystrokes_never_reach_the_pty(
    relay: RelayNode, shell_session: tuple[str, Bridge, asyncio.Task[str]]
) -> None:
    sid, _, _ = shell_session
    tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER))
    watcher = await relay.dial(relay.ticket(sid, TicketRole.VIEWER))
    await recv_control(tech, "hello")
    await recv_control(watcher, "hello")
    await watcher.send(b"echo LEAK$((6*7))\r")
    await tech.send(b"echo DONE$((2*3))\r")
    seen = bytearray()
    await read_until(watcher, b"DONE6", seen)
    assert b"LEAK42" not in seen
    await tech.close()
    await watcher.close()


async def test_large_output_arrives_whole_and_in_order(
    relay: RelayNode, shell_session: tuple[str, Bridge, asyncio.Task[str]], tmp_path: Path
) -> None:
    sid, _, _ = shell_session
    big = tmp_path / "big.txt"
    lines = [f"line {i:07d}" for i in range(200_000)]
    big.write_text("\n".join(lines) + "\nEND-OF-FILE\n")
    tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER))
    await recv_control(tech, "hello")
    await tech.send(f"stty -onlcr; cat {big}\r".encode())
    out = await read_until(tech, b"END-OF-FILE\n")
    body = out[out.index(b"line 0000000") :]
    assert body.split(b"\n")[:200_000] == [line.encode() for line in lines]
    await tech.close()


# -- the screen: a real VNC server ----------------------------------------------------------


class RfbViewer:
    """Enough of an RFB client to prove the screen reaches the viewer through the relay."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.buf = bytearray()

    async def read(self, n: int) -> bytes:
        async with asyncio.timeout(10):
            while len(self.buf) < n:
                message = await self.ws.recv()
                if isinstance(message, bytes):
                    self.buf += message
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    async def handshake(self) -> tuple[int, int, str]:
        version = await self.read(12)
        assert version.startswith(b"RFB 003.")
        await self.ws.send(b"RFB 003.008\n")
        count = (await self.read(1))[0]
        types = await self.read(count)
        assert 1 in types
        await self.ws.send(bytes([1]))
        assert await self.read(4) == b"\0\0\0\0"
        await self.ws.send(bytes([1]))  # shared
        width, height = struct.unpack(">HH", await self.read(4))
        await self.read(16)
        name_length = struct.unpack(">I", await self.read(4))[0]
        return width, height, (await self.read(name_length)).decode()


async def test_screen_reaches_two_viewers_from_a_real_vnc_server(
    relay: RelayNode, session_id: Callable[[], str], vnc_server: Desktop
) -> None:
    sid = session_id()
    bridge = Bridge(
        relay.url, relay.ticket(sid, TicketRole.AGENT, SessionKind.SCREEN), "screen", vnc_port=vnc_server.port
    )
    task = asyncio.create_task(bridge.run())
    try:
        tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER, SessionKind.SCREEN))
        watcher = await relay.dial(relay.ticket(sid, TicketRole.VIEWER, SessionKind.SCREEN))
        for ws in (tech, watcher):
            width, height, _ = await RfbViewer(ws).handshake()
            assert (width, height) == (800, 600)
        viewer = RfbViewer(tech)
        await tech.send(struct.pack(">BBHHHH", 3, 0, 0, 0, 800, 600))  # full framebuffer update request
        header = await viewer.read(4)
        assert header[0] == 0  # FramebufferUpdate
        assert struct.unpack(">H", header[2:4])[0] >= 1
    finally:
        await relay.server.end_session(sid, "test over")
        await asyncio.wait_for(task, 10)
