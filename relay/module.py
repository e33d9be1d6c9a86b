"""The relay as a hub module: the hub runs a relay node in its own process unless told not to."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import APIRouter

from hub.core.context import HubContext
from hub.core.scheduler import Scheduler
from hub.core.settings import Settings
from hub.core.tickets import RemoteEventSink, SessionEvent
from relay.config import RelayConfig
from relay.server import RelayServer
from relay.tools import relay_tools

log = logging.getLogger(__name__)


def config_from(settings: Settings) -> RelayConfig:
    """Relay limits from the hub settings."""
    timeout = settings.relay_idle_timeout_minutes * 60
    return RelayConfig(
        secret=settings.secret,
        public_url=settings.relay_public_url,
        idle_timeout=timeout,
        idle_warnings=(timeout / 3, timeout * 2 / 3, timeout - 60 if timeout > 120 else timeout * 29 / 30),
        recordings_dir=settings.remote_recordings_dir,
    )


async def log_events(batch: list[SessionEvent]) -> None:
    """Event sink that writes the trail to the hub log."""
    for event in batch:
        log.info("remote session %s: %s %s %s", event.session, event.kind.value, event.user, event.detail)


class RelayModule:
    """Starts the embedded relay node with the hub."""

    name = "relay"

    def __init__(self) -> None:
        self.server: RelayServer | None = None
        self.port: int | None = None
        self._hub: HubContext | None = None

    def routers(self) -> Sequence[APIRouter]:
        """The relay speaks on its own port; it adds no hub routes."""
        return []

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        """Listen on ``relay_host:relay_port`` when the relay is embedded."""
        settings = hub.settings
        hub.registry.register_all(relay_tools(lambda: self.server))
        if not settings.relay_embedded:
            return
        pick_port = settings.relay_port == 0 and settings.relay_url is None
        if pick_port:
            # Port 0 takes any free port; the tickets then name the port actually bound.
            settings.relay_url = "ws://pending"

        async def report(batch: list[SessionEvent]) -> None:
            await log_events(batch)
            sink = hub.components.find(RemoteEventSink)
            if sink is not None:
                await sink.deliver(batch)

        server = RelayServer(config_from(settings), report)
        try:
            self.port = await server.start(settings.relay_host, settings.relay_port)
            if pick_port:
                settings.relay_url = f"ws://{settings.relay_host}:{self.port}"
                server.config = config_from(settings)
        except OSError as exc:
            # The hub still serves everything else; remote sessions fail with "cannot reach the relay".
            log.error("relay NOT started on %s:%d: %s", settings.relay_host, settings.relay_port, exc.strerror)
            return
        self.server = server
        hub.components.add(server)  # the embedded node, for whoever in this process needs it
        self._hub = hub
        log.info("relay listening on %s:%d (%s)", settings.relay_host, self.port, settings.relay_public_url)

    async def stop(self) -> None:
        """End every session and close the listener."""
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self._hub is not None:
            self._hub.components.remove(RelayServer)
            self._hub = None
