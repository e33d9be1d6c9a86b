"""``rmmhub relay``: one relay node in its own process, stopped by SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import click
import httpx

from hub.core.settings import Settings
from hub.core.tickets import SessionEvent, SessionEventBatch, sign_events
from relay.module import config_from, log_events
from relay.server import RelayServer

EVENTS_PATH = "/relay/v1/events"


class HubReporter:
    """Posts the node's session events to the hub, signed with the shared secret (``OSError`` on failure)."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._url = settings.base_url + EVENTS_PATH
        self._secret = settings.secret
        self._client = client

    async def __call__(self, batch: list[SessionEvent]) -> None:
        await log_events(batch)
        body = SessionEventBatch(events=batch).model_dump_json().encode()
        headers = {"Content-Type": "application/json", "X-Relay-Signature": sign_events(self._secret, body)}
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise OSError(f"hub at {self._url} unreachable: {exc}") from exc
        if response.status_code != 200:
            raise OSError(f"hub refused the events ({response.status_code}): {response.text[:200]}")


async def run(settings: Settings, host: str, port: int) -> None:
    """Serve until a stop signal, then end every session cleanly."""
    async with httpx.AsyncClient(timeout=10) as client:
        await _serve(settings, host, port, HubReporter(settings, client))


async def _serve(settings: Settings, host: str, port: int, reporter: HubReporter) -> None:
    server = RelayServer(config_from(settings), reporter)
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
