"""``rmmhub bench relay``: the relay against raw loopback TCP, side by side in one run.

Everything runs in this process on loopback (the relay, the ends and the TCP anchor share one event
loop), so compare the ``ratio`` rather than absolute MB/s. Ends with one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import click
from websockets.asyncio.client import ClientConnection, connect

from hub.core.tickets import SessionKind, TicketRole, mint, new_session_id
from relay.config import RelayConfig
from relay.server import RelayServer

SECRET = "bench-relay-secret-key-not-for-production"
CHUNK = 64 << 10
BROADCAST = 0xFF


async def tcp_anchor(total: int) -> float:
    """MB/s of raw loopback TCP with 64 KiB writes."""
    done = asyncio.Event()
    got = 0

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal got
        while data := await reader.read(1 << 20):
            got += len(data)
        writer.close()
        done.set()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    chunk = b"x" * CHUNK
    started = time.perf_counter()
    for _ in range(total // CHUNK):
        writer.write(chunk)
        await writer.drain()
    writer.close()
    await done.wait()
    elapsed = time.perf_counter() - started
    server.close()
    await server.wait_closed()
    return got / elapsed / 1e6


async def _pair(url: str, kind: SessionKind, viewers: int) -> tuple[ClientConnection, list[ClientConnection]]:
    sid = new_session_id()

    def ticket(role: TicketRole) -> str:
        return mint(SECRET, session=sid, role=role, kind=kind, relay=url)

    agent = await connect(f"{url}/relay/v1?ticket={ticket(TicketRole.AGENT)}", compression=None)
    await agent.recv()  # hello
    ends = []
    for i in range(viewers):
        role = TicketRole.CONTROLLER if i == 0 else TicketRole.VIEWER
        ends.append(await connect(f"{url}/relay/v1?ticket={ticket(role)}", compression=None, max_size=None))
    return agent, ends


async def _drain(ws: ClientConnection, total: int) -> None:
    got = 0
    while got < total:
        message = await ws.recv()
        if isinstance(message, bytes):
            got += len(message)


async def relay_throughput(url: str, total: int, viewers: int) -> float:
    """MB/s per viewer from agent to ``viewers`` browsers through the relay."""
    agent, ends = await _pair(url, SessionKind.SHELL, viewers)
    chunk = bytes([BROADCAST]) + b"x" * CHUNK
    started = time.perf_counter()

    async def pump() -> None:
        for _ in range(total // CHUNK):
            await agent.send(chunk)

    await asyncio.gather(pump(), *(_drain(ws, total // CHUNK * CHUNK) for ws in ends))
    elapsed = time.perf_counter() - started
    for ws in [agent, *ends]:
        await ws.close()
    return total / elapsed / 1e6


async def vnc_path(url: str, total: int) -> float:
    """MB/s for TCP source -> agent bridge -> relay -> client (the screen path)."""
    from agent.remote.bridge import Bridge

    chunk = b"v" * CHUNK

    async def source(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(total // CHUNK):
            writer.write(chunk)
            await writer.drain()
        await reader.read()  # hold the connection until the bridge closes it
        writer.close()

    server = await asyncio.start_server(source, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sid = new_session_id()
    bridge = Bridge(
        url,
        mint(SECRET, session=sid, role=TicketRole.AGENT, kind=SessionKind.SCREEN, relay=url),
        "screen",
        vnc_port=port,
    )
    task = asyncio.create_task(bridge.run())
    await bridge.connected.wait()
    viewer = await connect(
        f"{url}/relay/v1?ticket={mint(SECRET, session=sid, role=TicketRole.CONTROLLER, kind=SessionKind.SCREEN, relay=url)}",
        compression=None,
    )
    started = time.perf_counter()
    await _drain(viewer, total // CHUNK * CHUNK)
    elapsed = time.perf_counter() - started
    await viewer.send(json.dumps({"type": "end"}))
    await viewer.wait_closed()
    await task
    server.close()
    await server.wait_closed()
    return total / elapsed / 1e6


async def round_trips(url: str, count: int) -> tuple[float, float]:
    """p50 and p99 in ms of a 100-byte message browser -> relay -> agent echo -> relay -> browser."""
    agent, (browser,) = await _pair(url, SessionKind.SHELL, 1)

    async def echo() -> None:
        async for message in agent:
            if isinstance(message, bytes):
                await agent.send(bytes([BROADCAST]) + message[1:])

    echoer = asyncio.create_task(echo())
    payload = b"k" * 100
    samples = []
    for i in range(count + 200):
        started = time.perf_counter()
        await browser.send(payload)
        while not isinstance(await browser.recv(), bytes):
            pass
        if i >= 200:
            samples.append((time.perf_counter() - started) * 1000)
    await browser.close()
    await agent.close()
    echoer.cancel()
    await asyncio.gather(echoer, return_exceptions=True)
    quantiles = statistics.quantiles(samples, n=100)
    return statistics.median(samples), quantiles[98]


async def run(total_mb: int, rtt_count: int) -> dict[str, float]:
    """Every figure, in one run."""
    total = total_mb << 20
    server = RelayServer(RelayConfig(secret=SECRET))
    port = await server.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{port}"
    try:
        tcp = await tcp_anchor(total)
        relay = await relay_throughput(url, total, 1)
        fanout = await relay_throughput(url, total // 4, 4)
        vnc = await vnc_path(url, total)
        p50, p99 = await round_trips(url, rtt_count)
    finally:
        await server.stop()
    return {
        "tcp_mb_s": round(tcp, 1),
        "relay_mb_s": round(relay, 1),
        "ratio": round(relay / tcp, 3),
        "vnc_path_mb_s": round(vnc, 1),
        "fanout4_mb_s_per_viewer": round(fanout, 1),
        "rtt_p50_ms": round(p50, 3),
        "rtt_p99_ms": round(p99, 3),
    }


@click.command("relay")
@click.option(
    "--megabytes", type=click.IntRange(16, 65536), default=512, show_default=True, help="bytes per throughput run"
)
@click.option("--round-trips", type=click.IntRange(100, 1_000_000), default=5000, show_default=True)
def relay_bench(megabytes: int, round_trips: int) -> None:
    """Relay throughput vs raw TCP, the screen path, four-viewer fan-out and small-message round trips."""
    figures = asyncio.run(run(megabytes, round_trips))
    click.echo(json.dumps(figures))
