"""The UI module: page routers (listed in :mod:`ui.pages`), local static assets and live streams."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from hub.core.context import HubContext
from hub.core.scheduler import Scheduler
from ui.assets import asset_router, check_assets
from ui.live import LiveStreams
from ui.pages import ROUTERS


class UiModule:
    """Mounts the web UI."""

    name = "ui"

    def __init__(self) -> None:
        self.streams: LiveStreams | None = None
        self._hub: HubContext | None = None

    def routers(self) -> Sequence[APIRouter]:
        return [asset_router(), *ROUTERS]

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        check_assets()
        self.streams = LiveStreams()
        hub.components.add(self.streams)
        self._hub = hub

    async def stop(self) -> None:
        if self.streams is not None:
            self.streams.close()
            if self._hub is not None:
                self._hub.components.remove(LiveStreams)
            self.streams = None
