"""The UI module: page routes and local static assets."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from hub.core.context import HubContext
from hub.core.scheduler import Scheduler


class UiModule:
    """Mounts the web UI."""

    name = "ui"

    def routers(self) -> Sequence[APIRouter]:
        return []

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        return None

    async def stop(self) -> None:
        return None
