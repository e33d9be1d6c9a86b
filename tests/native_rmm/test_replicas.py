"""Two hub replicas on loopback sharing the database and a Redis bus: the replica holding the
agent's socket pushes a command queued through the other one, and a second connection of the
same device on the other replica closes the first with 4409."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from agent.protocol import WS_CLOSE_REPLACED
from hub.core.settings import Settings
from hub.main import create_app
from native_rmm.testing.agentsim import SimAgent
from policies.models import PolicyMode
from tests.conftest import Tenancy, free_port, make_settings
from tests.waiting import ThreadedServer

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_available(), reason="needs Redis on 127.0.0.1:6379")


@pytest.fixture
def replicas(settings: Settings) -> Iterator[list[str]]:
    urls, running = [], []
    channel = f"rmmhub-test:{uuid.uuid4().hex[:8]}"  # this test's replicas only, not another worker's
    try:
        for n in range(2):
            port = free_port()
            s = make_settings(
                settings.database_url,
                port=port,
                public_url=f"http://127.0.0.1:{port}",
                redis_url=REDIS_URL,
                redis_channel=channel,
            )
            server = ThreadedServer(create_app(s), port=port, name=f"replica-{n}", ws="websockets-sansio")
            server.start()
            running.append(server)
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for server in running:
            server.stop()


async def test_push_crosses_replicas(replicas: list[str], base_token: str, tenancy: Tenancy) -> None:
    a, b = replicas
    sim = SimAgent(b, hostname=f"REPL-{uuid.uuid4().hex[:6]}")
    await sim.enroll(base_token)
    sock = await sim.open_socket()
    async with httpx.AsyncClient(base_url=a, headers={"Authorization": f"Bearer {tenancy.admin.token}"}) as api:
        (
            await api.put("/api/v1/policies/native_rmm:rmm-run-command", json={"mode": PolicyMode.AUTO.value})
        ).raise_for_status()
        invoked = await api.post(
            "/api/v1/tools/rmm-run-command/invoke", json={"args": {"device": sim.device_id, "command": "hostname"}}
        )
        assert invoked.status_code == 200, invoked.text
    while True:  # other test sessions may share this Redis channel; skip what is not ours
        # The simulated agent never checks in: arriving on its socket at all is the cross-replica push.
        # How fast is measured by `rmmhub bench push`, not asserted here.
        spec, _arrived = await asyncio.wait_for(sock.commands.get(), 5)
        if spec.body == "hostname":
            break

    other = SimAgent(a)
    other.credential, other.device_id = sim.credential, sim.device_id
    second = await other.open_socket()
    await asyncio.wait_for(sock.closed.wait(), 5)
    assert sock.close_code == WS_CLOSE_REPLACED
    await second.close()
    await sim.aclose()
    await other.aclose()
