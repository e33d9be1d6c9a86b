"""The push channel against a real hub on loopback (uvicorn) with real WebSockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from agent.protocol import (
    WS_CLOSE_REPLACED,
    WS_CLOSE_UNAUTHORIZED,
    WS_CLOSE_UNSUPPORTED_PROTOCOL,
    CommandKind,
    CommandStatus,
    ErrorCode,
    Shell,
)
from hub.core.db import Database
from native_rmm.commands import service as commands
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from native_rmm.plane import DevicePlane
from native_rmm.testing.agentsim import SimAgent, SimSocket, ok_result, ws_url
from tests.conftest import LiveServer, Tenancy
from tests.waiting import eventually


@pytest.fixture
async def live_agent(live_server: LiveServer, base_token: str) -> AsyncIterator[SimAgent]:
    sim = SimAgent(live_server.url)
    await sim.enroll(base_token)
    yield sim
    await sim.aclose()


def _plane(live_server: LiveServer) -> DevicePlane:
    plane: DevicePlane = live_server.app.state.hub.components.get(DevicePlane)
    return plane


async def _enqueue(live_server: LiveServer, tenancy: Tenancy, device_id: int, body: str = "echo hi") -> Command:
    """Enqueue on the live hub's own loop (its bus publishes to its sockets)."""
    plane = _plane(live_server)

    async def work() -> Command:
        async with plane.db.transaction() as session:
            return await commands.enqueue(
                session,
                org_id=tenancy.org_id,
                device_id=device_id,
                kind=CommandKind.SHELL,
                shell=Shell.BASH,
                body=body,
                env={"GREETING": "hi"},
                timeout=30,
                created_by="tests",
            )

    loop = live_server.app.state.loop
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work(), loop))


@pytest.fixture
def live_loop(live_server: LiveServer) -> LiveServer:
    """Remember the live hub's event loop (it runs in another thread)."""

    async def grab() -> None:
        live_server.app.state.loop = asyncio.get_running_loop()

    plane = _plane(live_server)
    fut = asyncio.run_coroutine_threadsafe(grab(), plane.writer._task.get_loop())  # type: ignore[union-attr]
    fut.result(5)
    return live_server


async def test_push_arrives_at_once_and_result_is_acked(
    live_loop: LiveServer, live_agent: SimAgent, tenancy: Tenancy, db: Database
) -> None:
    sock = await live_agent.open_socket()
    started = time.monotonic()
    command = await _enqueue(live_loop, tenancy, live_agent.device_id or 0)
    spec, arrived = await asyncio.wait_for(sock.commands.get(), 2)
    latency = arrived - started
    assert spec.id == command.uid and spec.env == {"GREETING": "hi"}
    assert latency < 0.5, f"push took {latency:.3f} s"
    await sock.send_running(spec.id)
    await sock.send_result(ok_result(spec.id, "hi\n"))
    assert await asyncio.wait_for(sock.result_acks.get(), 5) == spec.id
    await sock.send_result(ok_result(spec.id, "again"))  # a repeat is acknowledged too
    assert await asyncio.wait_for(sock.result_acks.get(), 5) == spec.id
    await sock.close()
    async with db.transaction() as session:
        stored = await session.get(Command, command.id)
        assert stored is not None and stored.status is CommandStatus.SUCCEEDED and stored.stdout == "hi\n"
        assert stored.acked_at is not None and stored.delivered_at is not None


async def test_pending_commands_are_pushed_on_connect_and_checkin_stops_after_ack(
    live_loop: LiveServer, live_agent: SimAgent, tenancy: Tenancy
) -> None:
    command = await _enqueue(live_loop, tenancy, live_agent.device_id or 0)
    sock = await live_agent.open_socket()
    assert (await sock.next_command()).id == command.uid

    async def checkin_has_nothing_pending() -> bool:  # the batched ack lands within a flush interval
        return (await live_agent.checkin()).commands == []

    await eventually(
        checkin_has_nothing_pending, within=10, every=0.2, message="the check-in without the pushed command"
    )
    await sock.close()


async def test_refusals_and_replacement(live_loop: LiveServer, live_agent: SimAgent, db: Database) -> None:
    bad = SimSocket(ws_url(live_loop.url), "rmd_wrong")
    with pytest.raises(ConnectionRefusedError):
        await bad.open()
    assert bad.close_code == WS_CLOSE_UNAUTHORIZED and bad.errors[0].error.code is ErrorCode.INVALID_CREDENTIAL
    old_version = SimSocket(ws_url(live_loop.url), live_agent.credential or "")
    with pytest.raises(ConnectionRefusedError):
        await old_version.open(protocol_version=99)
    assert old_version.close_code == WS_CLOSE_UNSUPPORTED_PROTOCOL

    first = await live_agent.open_socket()
    replaced = await eventually(
        lambda: _plane(live_loop).registry.get(live_agent.device_id or 0), message="the first socket"
    )
    second = await live_agent.open_socket()
    await asyncio.wait_for(first.closed.wait(), 5)
    assert first.close_code == WS_CLOSE_REPLACED
    # The hub has finished with the replaced socket (its disconnect is written) before we look.
    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(replaced.ended.wait(), live_loop.app.state.loop))
    async with db.transaction() as session:
        device = (await session.execute(select(Device))).scalar_one()
        assert device.ws_connected is True  # the replaced socket did not mark the new one disconnected
    await second.close()

    async def disconnected() -> bool:
        async with db.transaction() as session:
            return (await session.execute(select(Device.ws_connected))).scalar_one() is False

    await eventually(disconnected, within=10, message="the device marked disconnected")


async def test_malformed_message_closes_with_4400(live_loop: LiveServer, live_agent: SimAgent) -> None:
    sock = await live_agent.open_socket()
    await sock.send('{"type": "command_ack"}')
    await asyncio.wait_for(sock.closed.wait(), 5)
    assert sock.close_code == 4400 and sock.errors[0].error.code is ErrorCode.MALFORMED_PAYLOAD


async def test_pings_and_unanswered_pings(live_loop: LiveServer, live_agent: SimAgent, db: Database) -> None:
    _plane(live_loop).settings.ws_ping_interval_seconds = 1
    try:
        sock = await live_agent.open_socket()
        await eventually(lambda: sock.pings >= 2 or sock.closed.is_set(), within=10, message="two pings")
        assert not sock.closed.is_set(), "an answered ping keeps the socket open"
        await sock.close()
        silent = await live_agent.open_socket(auto_pong=False)
        await asyncio.wait_for(silent.closed.wait(), 6)
        assert silent.close_code == 1011
    finally:
        _plane(live_loop).settings.ws_ping_interval_seconds = 30
