"""``rmmhub bench checkin``: check-ins/s against the same server's trivial-endpoint req/s, same run.

N simulated agents enroll, send a first full check-in, then each loops check-ins (metrics only,
the steady state) as fast as the hub answers for ``--seconds``; then the same N connections loop
``GET /agent/v1/ping`` (no database work) for the same time. The ratio check-ins/s : ping req/s
shows what the check-in path costs beyond HTTP itself (target >= 0.4). Afterwards the stored
sample count is compared with the accepted check-ins (the batched writer must lose nothing).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

import click
from sqlalchemy import func, select

from agent.protocol import CHECKIN_PATH, PROTOCOL_HEADER, PROTOCOL_VERSION
from hub.bench.rawhttp import RawConnection, RawHttpError
from hub.bench.server import BENCH_SECRET, BenchHub
from hub.bench.stats import ms, percentile
from hub.core.db import Database, create_cli_engine
from native_rmm.models.metrics import MetricSample
from native_rmm.testing.agentsim import SimAgent, sample_inventory, sample_metrics

TARGET_RATIO = 0.4
CATCH_UP_SECONDS = 60.0


@dataclass
class Phase:
    """What one phase measured."""

    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class CheckinReport:
    backend: str
    agents: int
    checkin: Phase
    ping: Phase
    stored_samples: int
    catch_up_seconds: float

    @property
    def ratio(self) -> float:
        return self.checkin.rate / self.ping.rate if self.ping.rate else 0.0

    def lines(self) -> list[str]:
        c, p = self.checkin, self.ping
        return [
            f"backend {self.backend}, {self.agents} agents, {c.seconds:.1f} s per phase",
            f"check-ins/s   {c.rate:8.1f}   (p50 {ms(percentile(c.latencies, 50))}, p99 "
            f"{ms(percentile(c.latencies, 99))}, errors {c.errors})",
            f"ping req/s    {p.rate:8.1f}   (p50 {ms(percentile(p.latencies, 50))}, p99 "
            f"{ms(percentile(p.latencies, 99))}, errors {p.errors})",
            f"ratio         {self.ratio:8.2f}   (target >= {TARGET_RATIO})",
            f"samples stored {self.stored_samples} for {c.requests} accepted check-ins (+{self.agents} warm-up); "
            f"writer caught up {self.catch_up_seconds:.1f} s after the check-in phase ended"
            + ("" if self.stored_samples >= c.requests + self.agents else " -- SAMPLES MISSING"),
        ]


async def _drive(conns: list[RawConnection], requests: Callable[[int], bytes], seconds: float, expect: int) -> Phase:
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    errors = 0

    async def loop(i: int) -> None:
        nonlocal errors
        request = requests(i)
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                status, _ = await conns[i].send(request)
            except RawHttpError:
                errors += 1
                continue
            if status == expect:
                latencies.append(time.monotonic() - t0)
            else:
                errors += 1

    started = time.monotonic()
    await asyncio.gather(*(loop(i) for i in range(len(conns))))
    return Phase(len(latencies), errors, time.monotonic() - started, latencies)


async def _count_samples(url: str) -> int:
    db = Database(create_cli_engine(url), secret_key=BENCH_SECRET)
    try:
        async with db.sessionmaker() as session:
            return int((await session.execute(select(func.count()).select_from(MetricSample))).scalar_one())
    finally:
        await db.dispose()


async def run_checkin_bench(*, agents: int, seconds: float, database_url: str | None) -> CheckinReport:
    """Start a hub, enroll ``agents``, run both phases, stop the hub; returns the figures."""
    async with BenchHub(database_url) as hub:
        assert hub.creds is not None
        sims = [SimAgent(hub.url, hostname=f"BENCH-{i:05d}") for i in range(agents)]
        gate = asyncio.Semaphore(20)

        async def enroll(sim: SimAgent) -> None:
            async with gate:
                assert hub.creds is not None
                await sim.enroll(hub.creds.installer_token)
                await sim.checkin(inventory=sample_inventory(sim.hostname))

        try:
            await asyncio.gather(*(enroll(s) for s in sims))
        finally:
            for sim in sims:
                await sim.aclose()
        gc.collect()
        gc.freeze()  # keep the load generator's collector from pausing it mid-measurement
        host, port = "127.0.0.1", int(hub.url.rsplit(":", 1)[1])
        conns = [RawConnection(host, port) for _ in sims]
        bodies = [
            RawConnection.build(
                "POST",
                CHECKIN_PATH,
                f"{host}:{port}",
                {
                    "Content-Type": "application/json",
                    PROTOCOL_HEADER: str(PROTOCOL_VERSION),
                    "Authorization": f"Bearer {s.credential}",
                },
                s.checkin_body(metrics=sample_metrics(cpu=float(i % 100))).model_dump_json().encode(),
            )
            for i, s in enumerate(sims)
        ]
        ping = RawConnection.build("GET", "/agent/v1/ping", f"{host}:{port}", {})
        try:
            checkins = await _drive(conns, lambda i: bodies[i], seconds, 200)
            # The ping phase starts once the writer caught up: no check-in work may spill into it.
            expected = checkins.requests + agents
            waited_from = time.monotonic()
            stored = await _count_samples(hub.database_url)
            while stored < expected and time.monotonic() - waited_from < CATCH_UP_SECONDS:
                await asyncio.sleep(0.1)
                stored = await _count_samples(hub.database_url)
            caught_up = time.monotonic() - waited_from
            await asyncio.sleep(1.5)  # the alert evaluator's last round
            pings = await _drive(conns, lambda i: ping, seconds, 200)
        finally:
            gc.unfreeze()
            for conn in conns:
                await conn.close()
        return CheckinReport(hub.backend, agents, checkins, pings, stored, caught_up)


@click.command("checkin")
@click.option("--agents", default=200, show_default=True, type=click.IntRange(1, 5000))
@click.option("--seconds", default=10.0, show_default=True, type=click.FloatRange(0.5, 300))
@click.option("--database-url", default=None, help="PostgreSQL server URL (a temporary database is created on it)")
def checkin(agents: int, seconds: float, database_url: str | None) -> None:
    """Check-ins/s vs. the same hub's trivial endpoint req/s (target ratio >= 0.4)."""
    report = asyncio.run(run_checkin_bench(agents=agents, seconds=seconds, database_url=database_url))
    for line in report.lines():
        click.echo(line)
