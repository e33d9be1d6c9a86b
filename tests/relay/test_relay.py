"""The relay node against real websockets clients on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from hub.core.tickets import SessionKind, TicketRole, mint
from relay.config import RelayConfig
from relay.session import BROADCAST
from tests.relay.conftest import SECRET, RelayNode, recv_binary, recv_control


async def closed_with(ws: object) -> tuple[int | None, str]:
    from websockets.asyncio.client import ClientConnection

    assert isinstance(ws, ClientConnection)
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await ws.recv()
    rcvd = info.value.rcvd
    return (rcvd.code, rcvd.reason) if rcvd else (None, "")


async def test_forged_expired_and_reused_tickets_are_refused(relay: RelayNode, session_id: Callable[[], str]) -> None:
    sid = session_id()
    forged = mint(
        "another-secret-key-abcdefghijklmnop",
        session=sid,
        role=TicketRole.AGENT,
        kind=SessionKind.SHELL,
        relay=relay.url,
    )
    assert await closed_with(await relay.dial(forged)) == (4401, "ticket signature does not match")
    expired = mint(
        SECRET, session=sid, role=TicketRole.AGENT, kind=SessionKind.SHELL, relay=relay.url, now=time.time() - 120
    )
    assert await closed_with(await relay.dial(expired)) == (4401, "ticket expired: ask the hub for a new one")
    assert await closed_with(await relay.dial("not-a-ticket")) == (4401, "malformed ticket")
    good = relay.ticket(sid, TicketRole.AGENT)
    agent = await relay.dial(good)
    await recv_control(agent, "hello")
    assert await closed_with(await relay.dial(good)) == (4401, "ticket already used: ask the hub for a new one")
    await agent.close()


async def test_ticket_for_another_relay_node_is_refused(session_id: Callable[[], str]) -> None:
    from relay.server import RelayServer

    server = RelayServer(RelayConfig(secret=SECRET, public_url="ws://relay-a.example:9000"))
    port = await server.start("127.0.0.1", 0)
    try:
        node = RelayNode(server, f"ws://127.0.0.1:{port}")
        ticket = mint(
            SECRET,
            session=session_id(),
            role=TicketRole.AGENT,
            kind=SessionKind.SHELL,
            relay="ws://relay-b.example:9000",
        )
        assert await closed_with(await node.dial(ticket)) == (4401, "ticket is for another relay node")
    finally:
        await server.stop()


async def test_four_viewers_share_the_output_and_a_fifth_is_refused(
    relay: RelayNode, session_id: Callable[[], str]
) -> None:
    sid = session_id()
    agent = await relay.dial(relay.ticket(sid, TicketRole.AGENT))
    await recv_control(agent, "hello")
    viewers = [
        await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER if i == 0 else TicketRole.VIEWER, user=f"u{i}"))
        for i in range(4)
    ]
    hellos = [await recv_control(v, "hello") for v in viewers]
    assert [h["slot"] for h in hellos] == [0, 1, 2, 3]
    assert [h["view_only"] for h in hellos] == [False, True, True, True]
    fifth = await relay.dial(relay.ticket(sid, TicketRole.VIEWER, user="u4"))
    assert await closed_with(fifth) == (4429, "session already has 4 viewers, the most allowed")
    roster: list[object] = []
    while len(roster) < 4:
        roster = list((await recv_control(viewers[0], "viewers"))["viewers"])  # type: ignore[call-overload]
    assert [entry["user"] for entry in roster] == ["u0", "u1", "u2", "u3"]  # type: ignore[index]
    await agent.send(bytes([BROADCAST]) + b"hello\r\n")
    assert [await recv_binary(v) for v in viewers] == [b"hello\r\n"] * 4
    await relay.wait_kind("viewer-refused")
    for ws in [agent, *viewers]:
        await ws.close()
    assert relay.kinds().count("viewer-joined") == 4


async def test_view_only_input_is_dropped_in_the_relay(relay: RelayNode, session_id: Callable[[], str]) -> None:
    sid = session_id()
    agent = await relay.dial(relay.ticket(sid, TicketRole.AGENT))
    await recv_control(agent, "hello")
    tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER))
    watcher = await relay.dial(relay.ticket(sid, TicketRole.VIEWER))
    await recv_control(tech, "hello")
    await recv_control(watcher, "hello")
    await watcher.send(b"rm -rf /\r")
    await watcher.send(json.dumps({"type": "resize", "cols": 10, "rows": 10}))
    await watcher.send(json.dumps({"type": "view-only", "value": False}))
    await tech.send(b"ls\r")
    # The first binary frame the agent sees is the technician's: the viewer's keystrokes never left the relay.
    assert await recv_binary(agent) == bytes([0]) + b"ls\r"
    await tech.send(json.dumps({"type": "view-only", "value": True}))
    await relay.wait_kind("view-only-toggled")
    await tech.send(b"whoami\r")
    await tech.send(json.dumps({"type": "view-only", "value": False}))
    await tech.send(b"id\r")
    assert await recv_binary(agent) == bytes([0]) + b"id\r"
    for ws in (agent, tech, watcher):
        await ws.close()


@pytest.fixture
def relay_config() -> RelayConfig:
    return RelayConfig(secret=SECRET, reconnect_grace=5, pair_timeout=5)


async def test_idle_warnings_then_timeout(session_id: Callable[[], str]) -> None:
    from relay.server import RelayServer

    server = RelayServer(RelayConfig(secret=SECRET, idle_timeout=1.2, idle_warnings=(0.4, 0.8, 1.1)))
    port = await server.start("127.0.0.1", 0)
    try:
        node = RelayNode(server, f"ws://127.0.0.1:{port}")
        sid = session_id()
        agent = await node.dial(node.ticket(sid, TicketRole.AGENT))
        tech = await node.dial(node.ticket(sid, TicketRole.CONTROLLER))
        await recv_control(tech, "hello")
        started = time.monotonic()
        warnings = [await recv_control(tech, "idle-warning") for _ in range(3)]
        assert [w["remaining_seconds"] for w in warnings] == [0.8, 0.4, 0.1]
        code, reason = await closed_with(tech)
        assert code == 4408 and reason.startswith("idle timeout")
        assert time.monotonic() - started >= 1.1
        await closed_with(agent)
    finally:
        await server.stop()


async def test_input_restarts_the_idle_clock(session_id: Callable[[], str]) -> None:
    from relay.server import RelayServer

    server = RelayServer(RelayConfig(secret=SECRET, idle_timeout=1.0, idle_warnings=(0.5,)))
    port = await server.start("127.0.0.1", 0)
    try:
        node = RelayNode(server, f"ws://127.0.0.1:{port}")
        sid = session_id()
        agent = await node.dial(node.ticket(sid, TicketRole.AGENT))
        tech = await node.dial(node.ticket(sid, TicketRole.CONTROLLER))
        await recv_control(tech, "hello")
        await recv_control(tech, "idle-warning")
        typed = time.monotonic()
        await tech.send(b"x")
        await recv_control(tech, "idle-warning")
        assert time.monotonic() - typed >= 0.45  # the warning came a full interval after the keystroke
        await closed_with(tech)
        assert time.monotonic() - typed >= 0.95
        await agent.close()
    finally:
        await server.stop()


async def test_dropped_agent_resumes_the_same_session(relay: RelayNode, session_id: Callable[[], str]) -> None:
    sid = session_id()
    agent = await relay.dial(relay.ticket(sid, TicketRole.AGENT))
    hello = await recv_control(agent, "hello")
    tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER))
    await recv_control(tech, "hello")
    await agent.close()
    lost = await recv_control(tech, "agent")
    assert lost["connected"] is False
    from websockets.asyncio.client import connect

    back = await connect(f"{relay.url}/relay/v1?session={sid}&resume={hello['resume']}", compression=None)
    await recv_control(back, "hello")
    assert (await recv_control(back, "open"))["slot"] == 0
    assert (await recv_control(tech, "agent"))["connected"] is True
    await back.send(bytes([BROADCAST]) + b"still here")
    assert await recv_binary(tech) == b"still here"
    await tech.send(b"ok")
    assert await recv_binary(back) == bytes([0]) + b"ok"
    bogus = await connect(f"{relay.url}/relay/v1?session={sid}&resume=guess", compression=None)
    assert await closed_with(bogus) == (4401, "resume token not valid for this session")
    await relay.wait_kind("agent-resumed")
    await back.close()
    await tech.close()


async def test_agent_that_never_returns_ends_the_session(session_id: Callable[[], str]) -> None:
    from relay.server import RelayServer

    server = RelayServer(RelayConfig(secret=SECRET, reconnect_grace=0.3))
    port = await server.start("127.0.0.1", 0)
    try:
        node = RelayNode(server, f"ws://127.0.0.1:{port}")
        sid = session_id()
        agent = await node.dial(node.ticket(sid, TicketRole.AGENT))
        tech = await node.dial(node.ticket(sid, TicketRole.CONTROLLER))
        await recv_control(tech, "hello")
        await agent.close()
        assert await closed_with(tech) == (4410, "the device disconnected")
        assert sid not in server.sessions
    finally:
        await server.stop()


async def test_slow_viewer_is_dropped_without_throttling_the_others(session_id: Callable[[], str]) -> None:
    from relay.server import RelayServer

    server = RelayServer(RelayConfig(secret=SECRET, high_water=64 << 10, max_lag=1 << 20))
    port = await server.start("127.0.0.1", 0)
    try:
        node = RelayNode(server, f"ws://127.0.0.1:{port}")
        sid = session_id()
        agent = await node.dial(node.ticket(sid, TicketRole.AGENT))
        fast = await node.dial(node.ticket(sid, TicketRole.CONTROLLER))
        slow = await node.dial(node.ticket(sid, TicketRole.VIEWER), max_queue=1)
        await recv_control(fast, "hello")
        await recv_control(slow, "hello")
        chunk = bytes([BROADCAST]) + b"x" * 65536
        total = 32 << 20

        async def pump() -> None:
            for _ in range(total // 65536):
                await agent.send(chunk)

        sender = asyncio.create_task(pump())
        got = 0
        async with asyncio.timeout(30):
            while got < total:
                got += len(await recv_binary(fast))
        await sender
        assert got == total
        code, reason = await closed_with(slow)
        assert (code, reason) == (4413, "viewer too slow: reconnect to catch up")
        await agent.close()
        await fast.close()
    finally:
        await server.stop()


async def test_events_are_reported_with_the_end_reason(relay: RelayNode, session_id: Callable[[], str]) -> None:
    sid = session_id()
    agent = await relay.dial(relay.ticket(sid, TicketRole.AGENT))
    tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER, user="alice"))
    await recv_control(tech, "hello")
    await agent.send(json.dumps({"type": "event", "kind": "elevation-used", "detail": "sudo"}))
    await tech.send(json.dumps({"type": "end"}))
    assert await closed_with(tech) == (4410, "ended by alice")
    await closed_with(agent)
    await relay.wait_kind("ended")
    assert relay.kinds()[0] == "opened"
    assert "elevation-used" in relay.kinds()
    ended = next(e for e in relay.events if e.kind.value == "ended")
    assert ended.detail == "ended by alice" and ended.session == sid
