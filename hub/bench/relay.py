"""``rmmhub bench relay``: the relay against raw loopback TCP, side by side in one run.

Everything runs in this process on loopback (the relay, the ends and the TCP anchor share one event
loop), so compare the ``ratio`` rather than absolute MB/s. The loop is the one a relay node runs on
(uvloop where installed, see :mod:`relay.loop`; ``--loop asyncio`` for the stock loop); the idle
memory figure comes from a relay node in its own process on that loop. Ends with one JSON line,
which names the loop and the load average during the run: on a shared machine the round trip's
p99 is set by the scheduler (another process's time slice), not by the relay.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import sys
import time

import click
from websockets.asyncio.client import ClientConnection, connect

from hub.core.tickets import SessionKind, TicketRole, mint, new_session_id
from relay.config import RelayConfig
from relay.loop import LoopName, loop_in_use
from relay.loop import run as run_loop
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


NODE_SCRIPT = """
import asyncio, resource, sys
from relay.config import RelayConfig
from relay.loop import LoopName, loop_in_use
from relay.loop import run as run_loop
from relay.server import RelayServer
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
async def main():
    server = RelayServer(RelayConfig(secret=sys.argv[1], pair_timeout=3600))
    print(await server.start("127.0.0.1", 0), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop()
asyncio.run(main())
"""


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc (Linux only)")


async def idle_memory(connections: int, loop: LoopName = "auto") -> float:
    """KB of relay RSS per idle connection: a relay node in its own process holding ``connections`` sockets
    (paired sessions, an agent and a viewer each), measured from ``/proc/<pid>/status``."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    node = await asyncio.create_subprocess_exec(
        sys.executable, "-c", NODE_SCRIPT, SECRET, loop, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert node.stdout is not None and node.stdin is not None
    sockets: list[ClientConnection] = []
    try:
        url = f"ws://127.0.0.1:{int(await node.stdout.readline())}"
        before = _rss_kb(node.pid)
        for _ in range(connections // 2):
            agent, viewers = await _pair(url, SessionKind.SHELL, 1)
            sockets += [agent, *viewers]
        await asyncio.sleep(1.0)  # let the node settle before reading its memory
        after = _rss_kb(node.pid)
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        node.stdin.close()
        await node.wait()
    return (after - before) / max(1, len(sockets))


async def run(total_mb: int, rtt_count: int, connections: int = 5000, loop: LoopName = "auto") -> dict[str, object]:
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
    load_during = os.getloadavg()[0]
    idle_kb = await idle_memory(connections, loop)
    return {
        "loop": loop_in_use(loop),
        "load_1m": round(load_during, 2),
        "tcp_mb_s": round(tcp, 1),
        "relay_mb_s": round(relay, 1),
        "ratio": round(relay / tcp, 3),
        "vnc_path_mb_s": round(vnc, 1),
        "fanout4_mb_s_per_viewer": round(fanout, 1),
        "rtt_p50_ms": round(p50, 3),
        "rtt_p99_ms": round(p99, 3),
        "idle_kb_per_conn": round(idle_kb, 1),
    }


@click.command("relay")
@click.option(
    "--megabytes", type=click.IntRange(16, 65536), default=512, show_default=True, help="bytes per throughput run"
)
@click.option("--round-trips", type=click.IntRange(100, 1_000_000), default=5000, show_default=True)
@click.option(
    "--connections", type=click.IntRange(2, 100_000), default=5000, show_default=True, help="idle sockets held"
)
@click.option(
    "--loop",
    "loop",
    type=click.Choice(["auto", "uvloop", "asyncio"]),
    default="auto",
    show_default=True,
    help="event loop (auto: uvloop where installed, as a relay node runs)",
)
def relay_bench(megabytes: int, round_trips: int, connections: int, loop: LoopName) -> None:
    """Relay throughput vs raw TCP, the screen path, four-viewer fan-out, round trips and idle memory."""
    f = run_loop(run(megabytes, round_trips, connections, loop), loop)
    click.echo(
        f"throughput   raw TCP {f['tcp_mb_s']:>8} MB/s | relay {f['relay_mb_s']:>8} MB/s | "
        f"ratio {f['ratio']} (target >= 0.30)"
    )
    click.echo(
        f"screen path  TCP -> bridge -> relay -> client {f['vnc_path_mb_s']} MB/s | "
        f"four-viewer fan-out {f['fanout4_mb_s_per_viewer']} MB/s per viewer"
    )
    click.echo(f"round trip   p50 {f['rtt_p50_ms']} ms | p99 {f['rtt_p99_ms']} ms (target < 1.5)")
    click.echo(f"idle memory  {f['idle_kb_per_conn']} KB per connection at {connections} connections (target <= 20)")
    click.echo(
        f"event loop   {f['loop']} | load average (1 min) during the run {f['load_1m']} on {os.cpu_count()} CPUs"
    )
    click.echo(json.dumps(f))
