"""Privacy mode: the end user's answer gates the bridge; a reconnect after a drop asks nothing new.

The consent command stands in for the end user (it is what ``RMMHUB_AGENT_CONSENT_COMMAND`` runs; the
desktop dialogs zenity/xmessage/osascript answer the same way through their exit status).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from agent.remote.bridge import Bridge
from agent.remote.settings import RemoteSettings
from hub.core.tickets import TicketRole
from tests.relay.conftest import RelayNode, recv_control
from tests.relay.test_bridge import read_until


def consenting_bridge(relay: RelayNode, sid: str, command: str) -> Bridge:
    return Bridge(
        relay.url,
        relay.ticket(sid, TicketRole.AGENT),
        "shell",
        shell_argv=["/bin/bash", "--norc", "-i"],
        consent=True,
        technician="olga",
        remote_settings=RemoteSettings(consent_command=command, consent_timeout=20),
    )


@contextlib.asynccontextmanager
async def running_bridge(relay: RelayNode, sid: str, command: str) -> AsyncIterator[None]:
    """A consenting bridge running for the block; then the session is ended and the bridge awaited."""
    task = asyncio.create_task(consenting_bridge(relay, sid, command).run())
    try:
        yield
    finally:
        await relay.server.end_session(sid, "test over")
        await asyncio.wait_for(task, 10)


async def consent_messages(ws: ClientConnection) -> list[dict[str, object]]:
    """Every consent message until the socket closes or the end user accepted."""
    seen: list[dict[str, object]] = []
    try:
        while True:
            message = await ws.recv()
            if isinstance(message, str) and (payload := json.loads(message))["type"] in ("consent", "declined"):
                seen.append(payload)
                if payload.get("state") == "accepted":
                    return seen
    except ConnectionClosed:
        return seen


async def test_declined_request_ends_with_a_clear_message(relay: RelayNode, session_id: Callable[[], str]) -> None:
    sid = session_id()
    bridge = consenting_bridge(relay, sid, "exit 1")
    task = asyncio.create_task(bridge.run())
    tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER, user="olga"))
    async with asyncio.timeout(30):
        seen = await consent_messages(tech)
    assert seen[0]["state"] == "waiting" and "olga" in str(seen[0]["message"])
    await asyncio.wait_for(tech.wait_closed(), 10)
    assert tech.close_code == 4410 and tech.close_reason == "the end user declined the connection request"
    assert await asyncio.wait_for(task, 10) == "the end user declined the connection request"
    await relay.wait_kind("consent-declined")
    assert "consent-given" not in relay.kinds()


async def test_accepted_request_opens_the_shell_and_a_reconnect_asks_nothing_new(
    relay: RelayNode, session_id: Callable[[], str], tmp_path: Path
) -> None:
    asked = tmp_path / "asked"
    sid = session_id()
    async with running_bridge(relay, sid, f'echo "$RMMHUB_TECHNICIAN" >> {asked}; exit 0'):
        tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER, user="olga"))
        await recv_control(tech, "hello")
        await tech.send(b"echo typed-before-consent\r")  # dropped: nothing reaches the endpoint before consent
        async with asyncio.timeout(30):
            seen = await consent_messages(tech)
        assert [m["state"] for m in seen] == ["waiting", "accepted"]
        await tech.send(b"echo hel''lo-$((6*7))\r")
        out = await read_until(tech, b"hello-42")
        assert b"typed-before-consent" not in out
        # A brief drop of the agent's connection: it resumes the same session, no second prompt.
        session = relay.server.sessions[sid]
        assert session.agent is not None
        await session.agent.close(1011, "network drop")
        await recv_control(tech, "agent")  # disconnected
        back = await recv_control(tech, "agent")
        assert back["connected"] is True
        await tech.send(b"echo still-$((2*21))\r")
        await read_until(tech, b"still-42")
        assert asked.read_text() == "olga\n"
        await relay.wait_kind("agent-resumed")
        assert relay.kinds().count("consent-given") == 1


async def test_a_technician_who_joins_after_the_answer_still_sees_it(
    relay: RelayNode, session_id: Callable[[], str]
) -> None:
    sid = session_id()
    async with running_bridge(relay, sid, "exit 0"):
        await relay.wait_kind("consent-given")  # the end user accepted before any window connected
        tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER, user="olga"))
        async with asyncio.timeout(30):
            seen = await consent_messages(tech)
        assert [m["state"] for m in seen] == ["waiting", "accepted"]
        assert "olga" in str(seen[0]["message"])
        await tech.send(b"echo late-$((6*7))\r")
        await read_until(tech, b"late-42")


async def test_a_technician_who_joins_after_a_decline_is_told_why(
    relay: RelayNode, session_id: Callable[[], str]
) -> None:
    sid = session_id()
    bridge = consenting_bridge(relay, sid, "exit 1")
    assert await asyncio.wait_for(bridge.run(), 30) == "the end user declined the connection request"
    assert sid not in relay.server.sessions
    tech = await relay.dial(relay.ticket(sid, TicketRole.CONTROLLER, user="olga"))
    await asyncio.wait_for(tech.wait_closed(), 10)
    assert tech.close_code == 4410 and tech.close_reason == "the end user declined the connection request"
    assert sid not in relay.server.sessions  # the late ticket did not open the session again
