"""The supported scale-out topology (README "Scale-out"): replicas behind one load-balanced
``RMMHUB_PUBLIC_URL``. Install commands from any replica carry the public URL, and a real agent
process survives the loss of the replica holding its socket: it reconnects through the load
balancer to another replica and runs the next command there.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hub.core.db import Database
from hub.core.settings import Settings
from hub.main import create_app
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from native_rmm.plane import DevicePlane
from policies.models import PolicyMode
from tests.conftest import Tenancy, free_port, make_settings
from tests.native_rmm.loopback_proxy import LoopbackProxy
from tests.native_rmm.test_replicas import REDIS_URL, _redis_available
from tests.waiting import ThreadedServer, eventually

pytestmark = [
    pytest.mark.skipif(not _redis_available(), reason="needs Redis on 127.0.0.1:6379"),
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell commands"),
]
REPO = Path(__file__).resolve().parents[2]


class Cluster:
    def __init__(self, lb: LoopbackProxy, servers: list[ThreadedServer], planes: list[DevicePlane]) -> None:
        self.lb, self.servers, self.planes = lb, servers, planes

    def holder(self, device_id: int) -> int | None:
        """Index of the replica (still running) holding the device's socket."""
        for n, (server, plane) in enumerate(zip(self.servers, self.planes, strict=True)):
            if server.thread.is_alive() and plane.registry.get(device_id) is not None:
                return n
        return None


@pytest.fixture
def cluster(settings: Settings) -> Iterator[Cluster]:
    lb_port = free_port()
    public = f"http://127.0.0.1:{lb_port}"
    servers, planes, ports = [], [], []
    try:
        for n in range(2):
            port = free_port()
            s = make_settings(
                settings.database_url,
                port=port,
                public_url=public,
                redis_url=REDIS_URL,
                redis_channel=f"rmmhub-test:lb-{lb_port}",
            )
            app = create_app(s)
            server = ThreadedServer(app, port=port, name=f"replica-{n}", ws="websockets-sansio")
            server.start()
            servers.append(server)
            planes.append(app.state.hub.components.get(DevicePlane))
            ports.append(port)
        lb = LoopbackProxy(lb_port, [("127.0.0.1", p) for p in ports])
        lb.start()
        try:
            yield Cluster(lb, servers, planes)
        finally:
            lb.stop()
    finally:
        for server in servers:
            if server.thread.is_alive():
                server.stop()


@pytest.fixture
async def agent_process(tmp_path: Path) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    procs: list[asyncio.subprocess.Process] = []
    yield procs
    for proc in procs:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def test_install_commands_carry_the_public_url(cluster: Cluster, tenancy: Tenancy, base_token: str) -> None:
    for server in cluster.servers:
        port = server.config.port
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {tenancy.admin.token}"}
        ) as api:
            listed = (await api.get("/api/v1/rmm/installers")).json()
            script = await api.get(f"/install/{base_token}/linux")
        commands = [c for i in listed for c in i["commands"].values()]
        assert commands and all(cluster.lb.url in c and f":{port}" not in c for c in commands)
        assert script.status_code == 200 and cluster.lb.url in script.text and f":{port}/" not in script.text


async def test_agent_fails_over_to_another_replica(
    cluster: Cluster,
    tenancy: Tenancy,
    base_token: str,
    db: Database,
    tmp_path: Path,
    agent_process: list[asyncio.subprocess.Process],
) -> None:
    log_path = tmp_path / "agent.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "RMMHUB_AGENT_RECONNECT_MAX": "2"}
    with log_path.open("wb") as log:
        agent_process.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "agent",
                "run",
                "--state-dir",
                str(tmp_path / "state"),
                "--hub",
                cluster.lb.url,
                "--token",
                base_token,
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )
        )

    async def device_id() -> int | None:
        async with db.transaction() as session:
            return (await session.execute(select(Device.id))).scalars().first()

    dev = await eventually(device_id, within=60, message="the agent enrolled through the load balancer")
    await eventually(lambda: cluster.holder(dev) is not None, within=30, message="the agent's socket")
    holder = cluster.holder(dev)
    assert holder is not None
    lost_at = time.monotonic()
    cluster.servers[holder].stop()
    other = 1 - holder
    await eventually(
        lambda: cluster.holder(dev) == other,
        within=30,
        message=f"the agent reconnected to replica {other}\n{log_path.read_text(errors='replace')}",
    )
    failover = time.monotonic() - lost_at
    async with httpx.AsyncClient(
        base_url=cluster.lb.url, headers={"Authorization": f"Bearer {tenancy.admin.token}"}
    ) as api:
        r = await api.put("/api/v1/policies/native_rmm:rmm-run-command", json={"mode": PolicyMode.AUTO.value})
        r.raise_for_status()
        invoked = await api.post(
            "/api/v1/tools/rmm-run-command/invoke", json={"args": {"device": dev, "command": "echo after-failover"}}
        )
        assert invoked.status_code == 200, invoked.text

    async def result() -> str | None:
        async with db.transaction() as session:
            command = (await session.execute(select(Command).where(Command.device_id == dev))).scalars().first()
            return command.stdout if command is not None and command.result_at is not None else None

    assert "after-failover" in await eventually(result, within=30, message="the command's result")
    print(f"\nFIGURE agent failover through the load balancer after its replica stopped: {failover:.1f} s")
