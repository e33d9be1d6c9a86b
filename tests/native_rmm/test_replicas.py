"""Two hub replicas on loopback sharing the database and a Redis bus: the replica holding the
agent's socket pushes a command queued through the other one, and a second connection of the
same device on the other replica closes the first with 4409."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from agent.protocol import WS_CLOSE_REPLACED
from hub.core.settings import Settings
from hub.main import create_app
from native_rmm.testing.agentsim import SimAgent
from policies.models import PolicyMode
from tests.conftest import Tenancy, free_port, make_settings

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_available(), reason="needs Redis on 127.0.0.1:6379")


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, FastAPI]:
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning",
                                           ws="websockets-sansio"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("replica did not start")
        time.sleep(0.05)
    return server, thread, app


@pytest.fixture
def replicas(settings: Settings) -> Iterator[list[str]]:
    urls, running = [], []
    for _ in range(2):
        port = free_port()
        s = make_settings(settings.database_url, port=port, public_url=f"http://127.0.0.1:{port}", redis_url=REDIS_URL)
        running.append(_serve(s))
        urls.append(f"http://127.0.0.1:{port}")
    yield urls
    for server, thread, _ in running:
        server.should_exit = True
        thread.join(timeout=15)


async def test_push_crosses_replicas(replicas: list[str], base_token: str, tenancy: Tenancy) -> None:
    a, b = replicas
    sim = SimAgent(b, hostname=f"REPL-{uuid.uuid4().hex[:6]}")
    await sim.enroll(base_token)
    sock = await sim.open_socket()
    async with httpx.AsyncClient(base_url=a, headers={"Authorization": f"Bearer {tenancy.admin.token}"}) as api:
        (
            await api.put("/api/v1/policies/native_rmm:rmm-run-command", json={"mode": PolicyMode.AUTO.value})
        ).raise_for_status()
        started = time.monotonic()
        invoked = await api.post("/api/v1/tools/rmm-run-command/invoke",
                                 json={"args": {"device": sim.device_id, "command": "hostname"}})  # fmt: skip
        assert invoked.status_code == 200, invoked.text
    while True:  # other test sessions may share this Redis channel; skip what is not ours
        spec, arrived = await asyncio.wait_for(sock.commands.get(), 5)
        if spec.body == "hostname":
            break
    assert arrived - started < 1.0

    other = SimAgent(a)
    other.credential, other.device_id = sim.credential, sim.device_id
    second = await other.open_socket()
    await asyncio.wait_for(sock.closed.wait(), 5)
    assert sock.close_code == WS_CLOSE_REPLACED
    await second.close()
    await sim.aclose()
    await other.aclose()
