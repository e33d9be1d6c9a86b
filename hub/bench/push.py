"""``rmmhub bench push``: time from enqueue to receipt over the agent WebSocket.

``--agents`` simulated agents enroll and keep the push WebSocket open (they ack each command as
the real agent does). The bench sets ``rmm-run-command`` to ``auto`` and invokes it through the
REST API (the full path: HTTP, policy gate, audit, commit, bus, push) for ``--commands`` commands
to random agents at ``--rate`` per second. Latency = from just before the invoke request is sent
to the moment the agent's socket receives the command. Target p99 < 250 ms.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from dataclasses import dataclass

import click
import httpx

from hub.bench.server import BenchHub
from hub.bench.stats import ms, percentile
from native_rmm.testing.agentsim import SimAgent, SimSocket

TARGET_P99_SECONDS = 0.250
RECEIVE_TIMEOUT_SECONDS = 10.0


@dataclass
class PushReport:
    backend: str
    agents: int
    sent: int
    latencies: list[float]
    lost: int
    invoke_times: list[float]
    hub_log: str = ""

    def lines(self) -> list[str]:
        lat = self.latencies
        return [
            f"backend {self.backend}, {self.agents} agents connected, {self.sent} commands",
            f"enqueue->receipt p50 {ms(percentile(lat, 50))}, p99 {ms(percentile(lat, 99))}, "
            f"max {ms(max(lat, default=0.0))} (target p99 < {ms(TARGET_P99_SECONDS)}); lost {self.lost}",
            f"(of which the invoke API call: p50 {ms(percentile(self.invoke_times, 50))}, "
            f"p99 {ms(percentile(self.invoke_times, 99))})",
        ] + ([f"hub log (tail):\n{self.hub_log}"] if self.hub_log else [])


async def run_push_bench(
    *, agents: int, commands: int, rate: float, database_url: str | None, seed: int = 1
) -> PushReport:
    """Start a hub, connect ``agents`` sockets, push ``commands``; returns the figures."""
    rng = random.Random(seed)
    async with BenchHub(database_url) as hub:
        assert hub.creds is not None
        token = hub.creds.installer_token
        sims = [SimAgent(hub.url, hostname=f"PUSH-{i:05d}") for i in range(agents)]
        sockets: list[SimSocket] = []
        gate = asyncio.Semaphore(50)

        async def connect(sim: SimAgent) -> SimSocket:
            async with gate:
                await sim.enroll(token)
                return await sim.open_socket()

        api = httpx.AsyncClient(
            base_url=hub.url, headers={"Authorization": f"Bearer {hub.creds.admin_token}"}, timeout=30
        )
        try:
            sockets = list(await asyncio.gather(*(connect(s) for s in sims)))
            # The load generator holds 1000 clients and sockets: keep its own garbage collector from
            # pausing it mid-measurement (the set-up objects live until the end anyway).
            gc.collect()
            gc.freeze()
            policy = await api.put("/api/v1/policies/native_rmm:rmm-run-command", json={"mode": "auto"})
            policy.raise_for_status()
            by_device = {s.device_id or 0: sock for s, sock in zip(sims, sockets, strict=True)}
            sent_at: dict[str, float] = {}
            latencies: list[float] = []
            invoke_times: list[float] = []

            async def one(n: int, device_id: int) -> None:
                body = f"echo bench-{n}"
                sent_at[body] = time.monotonic()
                response = await api.post(
                    "/api/v1/tools/rmm-run-command/invoke", json={"args": {"device": device_id, "command": body}}
                )
                response.raise_for_status()
                invoke_times.append(time.monotonic() - sent_at[body])

            async def receive(sock: SimSocket, expected: int) -> None:
                for _ in range(expected):
                    spec, arrived = await sock.commands.get()
                    latencies.append(arrived - sent_at[spec.body])

            targets = [rng.choice(list(by_device)) for _ in range(commands)]
            expected: dict[int, int] = {}
            for device_id in targets:
                expected[device_id] = expected.get(device_id, 0) + 1
            receivers = [asyncio.create_task(receive(by_device[d], n)) for d, n in expected.items()]
            senders = []
            for n, device_id in enumerate(targets):
                senders.append(asyncio.create_task(one(n, device_id)))
                await asyncio.sleep(1 / rate)
            await asyncio.gather(*senders)
            _, late = await asyncio.wait(receivers, timeout=RECEIVE_TIMEOUT_SECONDS)
            for task in late:
                task.cancel()
            missing = commands - len(latencies)
            return PushReport(
                hub.backend, agents, commands, latencies, missing, invoke_times, hub.log_tail() if missing else ""
            )
        finally:
            gc.unfreeze()
            await api.aclose()
            for sock in sockets:
                await sock.close()
            for sim in sims:
                await sim.aclose()


@click.command("push")
@click.option("--agents", default=1000, show_default=True, type=click.IntRange(1, 5000))
@click.option("--commands", default=300, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--rate", default=25.0, show_default=True, type=click.FloatRange(0.1, 1000), help="commands per second")
@click.option("--database-url", default=None, help="PostgreSQL server URL (a temporary database is created on it)")
def push(agents: int, commands: int, rate: float, database_url: str | None) -> None:
    """Enqueue-to-receipt latency over the WebSocket with many agents connected (target p99 < 250 ms)."""
    report = asyncio.run(run_push_bench(agents=agents, commands=commands, rate=rate, database_url=database_url))
    for line in report.lines():
        click.echo(line)
