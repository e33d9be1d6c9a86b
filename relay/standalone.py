"""``rmmhub relay``: one relay node in its own process, stopped by SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import click

from hub.core.settings import Settings
from relay.module import config_from, log_events
from relay.server import RelayServer


async def run(settings: Settings, host: str, port: int) -> None:
    """Serve until a stop signal, then end every session cleanly."""
    server = RelayServer(config_from(settings), log_events)
    bound = await server.start(host, port)
    click.echo(f"relay listening on {host}:{bound}; tickets name {settings.relay_public_url}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
