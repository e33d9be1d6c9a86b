"""Network throughput from a real agent process: psutil counter deltas reach the hub as bytes/s,
are stored with each sample and served to the device page's network graph."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from native_rmm.models.metrics import MetricSample
from tests.conftest import rest_login
from tests.e2e.conftest import E2EHub, StartAgent
from tests.waiting import eventually

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux")]

BURST = 32 << 20  # loopback traffic the agent's counters must see (lo counts both ways)
FAST = 2e6  # bytes/s: far above an idle check-in loop, far below a 32 MiB burst within a few seconds


async def _loopback_burst() -> None:
    """Push ``BURST`` bytes through a loopback TCP socket (what the agent's next sample must show)."""
    done = asyncio.Event()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1 << 20):
            pass
        writer.close()
        done.set()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    _, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    chunk = b"n" * (1 << 20)
    for _ in range(BURST >> 20):
        writer.write(chunk)
        await writer.drain()
    writer.close()
    await done.wait()
    server.close()
    await server.wait_closed()


async def test_agent_reports_network_throughput_to_the_graph(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    await start_agent(
        "run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token", e2e_hub.base_token
    )
    device = await e2e_hub.connected_device()

    async def fast_sample() -> MetricSample | None:
        await _loopback_burst()
        async with e2e_hub.db.sessionmaker() as session:
            rows = (await session.scalars(select(MetricSample).where(MetricSample.device_id == device.id))).all()
        return next((r for r in rows if (r.net_recv_bps or 0) > FAST and (r.net_sent_bps or 0) > FAST), None)

    sample = await eventually(fast_sample, within=30, every=0.5, message="a sample with the burst's throughput")
    assert sample.net_recv_bps is not None and sample.net_recv_bps < 1e11

    viewer = e2e_hub.tenancy.viewer
    async with httpx.AsyncClient(base_url=e2e_hub.url) as browser:
        assert (await rest_login(browser, viewer.username, viewer.password)).status_code == 200
        metrics = (await browser.get(f"/rmm/devices/{device.id}/metrics")).json()
    series = metrics["series"]
    assert len(series["net_recv"]) == len(series["t"]) == len(series["net_sent"])
    assert max(v or 0 for v in series["net_recv"]) > FAST
    assert series["net_recv"][0] is None or series["net_recv"][0] >= 0  # the first sample has no rate yet
