"""Replicas that fail safely (issue 17): hub replicas on loopback sharing the test database and the
real Redis, each reproduction of the issue first.

- a ``CLIENT KILL`` of a replica's subscriber heals: it resubscribes and pushes cross replicas again;
- a Redis link that stays down shows as ``degraded`` in ``/healthz``, and the command queued
  meanwhile reaches the agent once the link is back (resynchronisation);
- revoking a device through one replica closes its socket on the other at once (4401), and
  nothing from the revoked credential is accepted afterwards; so does deregistering;
- shutdown with a dead lock session and a dead bus still flushes queued writes and ends cleanly;
- two replicas with the scheduler: leadership moves within the bound after a graceful stop.

Figures for the closing note are printed (run with ``-s``); every test has its own Redis channel.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import select, text

from agent.protocol import WS_CLOSE_UNAUTHORIZED
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.events import BusState, RedisBus
from hub.core.scheduler import LEADER_CHECK_SECONDS, LEADER_CHECK_TIMEOUT_SECONDS, LEADER_RETRY_SECONDS, Scheduler
from hub.core.settings import Settings
from hub.main import create_app
from native_rmm.devices import credentials
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from native_rmm.plane import DevicePlane
from native_rmm.testing.agentsim import SimAgent, SimSocket, ok_result
from policies.models import PolicyMode
from tests.conftest import SECRET, Tenancy, free_port, make_settings, warm_up
from tests.native_rmm.loopback_proxy import LoopbackProxy
from tests.native_rmm.test_replicas import REDIS_URL, _redis_available
from tests.waiting import ThreadedServer, eventually

pytestmark = pytest.mark.skipif(not _redis_available(), reason="needs Redis on 127.0.0.1:6379")


@dataclass
class Replica:
    url: str
    app: FastAPI
    server: ThreadedServer

    @property
    def hub(self) -> HubContext:
        hub: HubContext = self.app.state.hub
        return hub

    @property
    def bus(self) -> RedisBus:
        bus = self.hub.bus
        assert isinstance(bus, RedisBus)
        return bus

    @property
    def plane(self) -> DevicePlane:
        plane: DevicePlane = self.hub.components.get(DevicePlane)
        return plane

    @property
    def scheduler(self) -> Scheduler:
        scheduler = self.hub.scheduler
        assert isinstance(scheduler, Scheduler)
        return scheduler


StartReplica = Callable[..., Replica]


@pytest.fixture
def start_replica(settings: Settings) -> Iterator[StartReplica]:
    """``start_replica(redis_url=..., **settings)``: a hub replica on its own port, stopped after the test."""
    channel = f"rmmhub-test:{uuid.uuid4().hex[:8]}"
    running: list[ThreadedServer] = []

    def start(redis_url: str = REDIS_URL, **overrides: object) -> Replica:
        port = free_port()
        values: dict[str, object] = {"public_url": f"http://127.0.0.1:{port}", "redis_channel": channel}
        values.update(overrides)
        s = make_settings(settings.database_url, port=port, redis_url=redis_url, **values)
        app = create_app(s)
        server = ThreadedServer(app, port=port, name=f"replica-{port}", ws="websockets-sansio")
        server.start()
        running.append(server)
        warm_up(f"http://127.0.0.1:{port}")
        return Replica(f"http://127.0.0.1:{port}", app, server)

    yield start
    for server in running:
        if server.thread.is_alive():
            server.stop()


@pytest.fixture
def redis_link() -> Iterator[LoopbackProxy]:
    """A cuttable TCP link to the real Redis."""
    proxy = LoopbackProxy(free_port(), [("127.0.0.1", 6379)])
    proxy.start()
    yield proxy
    proxy.stop()


async def _auto_run_command(url: str, token: str) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as api:
        r = await api.put("/api/v1/policies/native_rmm:rmm-run-command", json={"mode": PolicyMode.AUTO.value})
        r.raise_for_status()


async def _invoke(url: str, token: str, device_id: int, command: str) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as api:
        r = await api.post(
            "/api/v1/tools/rmm-run-command/invoke", json={"args": {"device": device_id, "command": command}}
        )
        assert r.status_code == 200, r.text


async def _arrival(sock: SimSocket, body: str, within: float = 10) -> float:
    while True:
        spec, arrived = await asyncio.wait_for(sock.commands.get(), within)
        if spec.body == body:
            return arrived


async def _kill_subscriber(bus: RedisBus) -> None:
    admin = Redis.from_url(REDIS_URL)
    try:
        clients = await admin.client_list()
        ids = [c["id"] for c in clients if c.get("name") == bus.client_name and int(c.get("sub", 0)) > 0]
        assert len(ids) == 1, clients
        await admin.execute_command("CLIENT", "KILL", "ID", ids[0])
    finally:
        await admin.aclose()


async def _agent_on(replica: Replica, base_token: str) -> tuple[SimAgent, SimSocket]:
    sim = SimAgent(replica.url, hostname=f"FS-{uuid.uuid4().hex[:6]}")
    await sim.enroll(base_token)
    return sim, await sim.open_socket()


async def test_push_latency_across_replicas(start_replica: StartReplica, base_token: str, tenancy: Tenancy) -> None:
    a, b = start_replica(), start_replica()
    sim, sock = await _agent_on(b, base_token)
    await _auto_run_command(a.url, tenancy.admin.token)
    latencies = []
    for n in range(20):
        started = time.monotonic()
        await _invoke(a.url, tenancy.admin.token, sim.device_id, f"echo {n}")
        latencies.append(await _arrival(sock, f"echo {n}") - started)
    latencies.sort()
    p50, p99 = statistics.median(latencies), latencies[-1]
    print(
        f"\nFIGURE cross-replica push (invoke on A -> command on B's socket), 20 runs: "
        f"p50 {p50 * 1000:.0f} ms, max/p99 {p99 * 1000:.0f} ms"
    )
    await sock.close()
    await sim.aclose()


async def test_subscriber_killed_by_redis_resubscribes(
    start_replica: StartReplica, base_token: str, tenancy: Tenancy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.core.events")
    a, b = start_replica(), start_replica()
    sim, sock = await _agent_on(b, base_token)
    await _auto_run_command(a.url, tenancy.admin.token)
    killed = time.monotonic()
    await _kill_subscriber(b.bus)
    await eventually(lambda: b.bus.last_outage_seconds is not None, within=10, message="B resubscribed")
    recovered = time.monotonic() - killed
    assert "lost the Redis subscription" in caplog.text and "resubscribed" in caplog.text
    started = time.monotonic()
    await _invoke(a.url, tenancy.admin.token, sim.device_id, "after-kill")
    # Over the healed bus: the simulated agent never checks in, so the socket is the only way it arrives.
    pushed = await _arrival(sock, "after-kill", within=5) - started
    print(
        f"\nFIGURE bus recovery after CLIENT KILL: resubscribed {recovered * 1000:.0f} ms after the kill "
        f"(outage seen by the bus {b.bus.last_outage_seconds * 1000:.0f} ms); next push {pushed * 1000:.0f} ms"
    )
    await sock.close()
    await sim.aclose()


async def test_bus_down_is_degraded_and_missed_commands_arrive_after(
    start_replica: StartReplica, redis_link: LoopbackProxy, base_token: str, tenancy: Tenancy
) -> None:
    a = start_replica()
    b = start_replica(redis_url=f"redis://127.0.0.1:{redis_link.port}/0")
    sim, sock = await _agent_on(b, base_token)
    await _auto_run_command(a.url, tenancy.admin.token)
    async with httpx.AsyncClient(base_url=b.url) as anon:
        assert (await anon.get("/healthz")).json()["bus"] == "connected"
        redis_link.cut()
        await eventually(lambda: b.bus.state is BusState.DISCONNECTED, within=20, message="B sees the bus down")
        health = (await anon.get("/healthz")).json()
        assert health["status"] == "degraded" and health["bus"] == "disconnected"
        await _invoke(a.url, tenancy.admin.token, sim.device_id, "while-down")  # B's subscriber misses this
        restored = time.monotonic()
        redis_link.restore()
        arrived = await _arrival(sock, "while-down", within=15)
        assert (await anon.get("/healthz")).json() == {**health, "status": "ok", "bus": "connected"}
    print(
        f"\nFIGURE bus down -> restored: the missed command reached the agent {(arrived - restored) * 1000:.0f} ms "
        "after the link came back (resync)"
    )
    await sock.close()
    await sim.aclose()


async def test_revoke_on_one_replica_closes_the_socket_on_the_other(
    start_replica: StartReplica, base_token: str, tenancy: Tenancy, db: Database
) -> None:
    a, b = start_replica(), start_replica()
    sim, sock = await _agent_on(a, base_token)
    await _auto_run_command(b.url, tenancy.admin.token)
    await _invoke(b.url, tenancy.admin.token, sim.device_id, "pushed-before-revoke")
    spec_id = None
    while spec_id is None:
        spec, _ = await asyncio.wait_for(sock.commands.get(), 5)
        spec_id = spec.id if spec.body == "pushed-before-revoke" else None
    async with httpx.AsyncClient(base_url=b.url, headers={"Authorization": f"Bearer {tenancy.admin.token}"}) as api:
        started = time.monotonic()
        r = await api.post(f"/api/v1/rmm/devices/{sim.device_id}/credentials/revoke")
        assert r.status_code == 200, r.text
    await asyncio.wait_for(sock.closed.wait(), 5)
    closed = time.monotonic() - started
    assert sock.close_code == WS_CLOSE_UNAUTHORIZED
    print(f"\nFIGURE revoke on B -> live socket on A closed in {closed * 1000:.0f} ms")
    assert (await sim.report_result(ok_result(spec_id))).status_code == 401
    async with db.transaction() as session:
        command = (await session.execute(select(Command).where(Command.uid == spec_id))).scalar_one()
        assert command.result_at is None
    with pytest.raises(ConnectionRefusedError):
        await sim.open_socket()
    await sim.aclose()


async def test_deregister_through_one_replica_closes_the_socket_on_the_other(
    start_replica: StartReplica, base_token: str
) -> None:
    a, b = start_replica(), start_replica()
    sim, sock = await _agent_on(a, base_token)
    on_b = SimAgent(b.url)
    on_b.credential, on_b.device_id = sim.credential, sim.device_id
    assert (await on_b.deregister()).status_code == 204
    await asyncio.wait_for(sock.closed.wait(), 5)
    assert sock.close_code == WS_CLOSE_UNAUTHORIZED
    await sim.aclose()
    await on_b.aclose()


async def test_result_on_a_revoked_socket_is_refused_even_without_the_event(
    start_replica: StartReplica, base_token: str, tenancy: Tenancy, db: Database
) -> None:
    """A revocation made without a bus (the CLI) still stops the socket at its next message."""
    a = start_replica()
    sim, sock = await _agent_on(a, base_token)
    await _auto_run_command(a.url, tenancy.admin.token)
    await _invoke(a.url, tenancy.admin.token, sim.device_id, "late-result")
    spec, _ = await asyncio.wait_for(sock.commands.get(), 5)
    async with db.transaction() as session:  # the test's Database has no bus: no event is published
        await credentials.revoke_credentials(session, device_id=sim.device_id, reason="cli")
    await sock.send_result(ok_result(spec.id))
    await asyncio.wait_for(sock.closed.wait(), 5)
    assert sock.close_code == WS_CLOSE_UNAUTHORIZED
    async with db.transaction() as session:
        command = (await session.execute(select(Command).where(Command.uid == spec.id))).scalar_one()
        assert command.result_at is None
    await sim.aclose()


async def test_shutdown_flushes_writes_with_a_dead_lock_session_and_a_dead_bus(
    start_replica: StartReplica,
    redis_link: LoopbackProxy,
    base_token: str,
    db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("the leader lock exists on PostgreSQL only (SQLite always leads)")
    caplog.set_level(logging.INFO)
    a = start_replica(redis_url=f"redis://127.0.0.1:{redis_link.port}/0", scheduler_enabled=True)
    await eventually(lambda: a.scheduler.lock_backend_pid, within=15, message="A holds the lock")
    sim = SimAgent(a.url, hostname=f"FS-{uuid.uuid4().hex[:6]}")
    await sim.enroll(base_token)
    checks = a.scheduler.lock_checks
    a.scheduler.check_seconds = 3600  # the watch must not notice first: stop() meets the dead session itself
    await eventually(lambda: a.scheduler.lock_checks > checks, within=30, message="the running lock check ends")
    async with db.transaction() as session:
        pid = a.scheduler.lock_backend_pid
        assert (await session.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})).scalar_one()
    redis_link.cut()
    await sim.checkin()  # liveness and the sample go to the batched writer
    await sim.aclose()
    a.server.stop()  # raises if the lifespan did not end
    assert "Application shutdown failed" not in caplog.text
    async with db.transaction() as session:
        device = await session.get(Device, sim.device_id)
        assert device is not None and device.last_seen_at is not None and device.last_metrics_at is not None


async def test_leadership_moves_after_a_graceful_stop(start_replica: StartReplica, db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("the leader lock exists on PostgreSQL only (SQLite always leads)")
    a = start_replica(scheduler_enabled=True)
    await eventually(lambda: a.scheduler.is_leader, within=15, message="A leads")
    b = start_replica(scheduler_enabled=True)
    await asyncio.sleep(0)
    assert not b.scheduler.is_leader
    stopped = time.monotonic()
    a.server.stop()  # what uvicorn does on SIGTERM
    bound = LEADER_RETRY_SECONDS * 1.2 + LEADER_CHECK_SECONDS + LEADER_CHECK_TIMEOUT_SECONDS + 2
    await eventually(lambda: b.scheduler.is_leader, within=bound, message="B leads")
    handover = time.monotonic() - stopped
    print(f"\nFIGURE hub hand-over after a graceful stop (SIGTERM path), default intervals: {handover:.1f} s")


async def test_killed_lock_session_moves_leadership_without_overlap(start_replica: StartReplica, db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("the leader lock exists on PostgreSQL only (SQLite always leads)")
    a = start_replica(scheduler_enabled=True)
    await eventually(lambda: a.scheduler.is_leader, within=15, message="A leads")
    b = start_replica(scheduler_enabled=True)
    pid = a.scheduler.lock_backend_pid
    async with db.transaction() as session:
        killed = time.monotonic()
        assert (await session.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})).scalar_one()
    stopped_within = LEADER_CHECK_SECONDS + LEADER_CHECK_TIMEOUT_SECONDS + 1
    await eventually(lambda: not a.scheduler.is_leader, within=stopped_within, message="A stops leading")
    stopped = time.monotonic() - killed
    assert not b.scheduler.is_leader or a.scheduler.lock_backend_pid is None
    bound = LEADER_RETRY_SECONDS * 1.2 + LEADER_CHECK_SECONDS + LEADER_CHECK_TIMEOUT_SECONDS + 2
    leader = await eventually(
        lambda: [r for r in (a, b) if r.scheduler.is_leader], within=bound, message="a replica leads again"
    )
    handover = time.monotonic() - killed
    assert len(leader) == 1
    print(
        f"\nFIGURE hub, default intervals: leader stopped jobs {stopped:.1f} s after pg_terminate_backend, "
        f"replica {'AB'[[a, b].index(leader[0])]} leads {handover:.1f} s after"
    )


async def test_leadership_moves_after_sigterm_of_a_serve_process(
    start_replica: StartReplica, db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Replica A is a real ``rmmhub serve`` process; SIGTERM it and B takes over the jobs."""
    if db.dialect != "postgresql":
        pytest.skip("the leader lock exists on PostgreSQL only (SQLite always leads)")
    port = free_port()
    env = {
        **os.environ,
        "RMMHUB_ENV": "dev",
        "RMMHUB_SECRET_KEY": SECRET,
        "RMMHUB_DATABASE_URL": settings.database_url,
        "RMMHUB_PORT": str(port),
        "RMMHUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "RMMHUB_SCHEDULER_ENABLED": "true",
        "RMMHUB_REDIS_URL": REDIS_URL,
        "RMMHUB_REDIS_CHANNEL": f"rmmhub-test:sigterm-{port}",
        "RMMHUB_LOG_LEVEL": "INFO",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub.cli",
            "serve",
            "--no-migrate",
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:

        async def a_leads() -> bool:
            async with db.transaction() as session:
                held = await session.execute(
                    text(
                        "SELECT count(*) FROM pg_locks JOIN pg_database d ON d.oid = pg_locks.database"
                        " WHERE locktype = 'advisory' AND granted AND d.datname = current_database()"
                    )
                )
                return bool(held.scalar_one())

        await eventually(a_leads, within=60, message=f"serve holds the lock\n{log_path.read_text(errors='replace')}")
        await eventually(
            lambda: "this replica leads scheduled jobs" in log_path.read_text(errors="replace"),
            within=15,
            message="serve runs the jobs",
        )
        b = start_replica(scheduler_enabled=True)
        assert not b.scheduler.is_leader
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        bound = LEADER_RETRY_SECONDS * 1.2 + LEADER_CHECK_SECONDS + LEADER_CHECK_TIMEOUT_SECONDS + 2
        await eventually(lambda: b.scheduler.is_leader, within=bound, message="B leads")
        handover = time.monotonic() - stopped
        # uvicorn re-raises the signal once its graceful shutdown is done
        assert await asyncio.wait_for(proc.wait(), 20) in (0, -signal.SIGTERM)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    output = log_path.read_text(errors="replace")
    assert "this replica leads scheduled jobs" in output and "Application shutdown complete" in output
    print(f"\nFIGURE hand-over after SIGTERM of a `rmmhub serve` leader, default intervals: {handover:.1f} s")
