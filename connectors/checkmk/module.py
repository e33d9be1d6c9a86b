"""The Checkmk module: the manager component, the tools, the REST routes and the sync schedule."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from connectors.checkmk import service
from connectors.checkmk.manager import CheckmkManager
from connectors.checkmk.routes import router
from connectors.checkmk.settings import CheckmkSettings
from connectors.checkmk.tools import checkmk_tools
from hub.core.context import HubContext
from hub.core.scheduler import Scheduler

SYNC_JOB = "checkmk-sync"


class CheckmkModule:
    """Adds the :class:`CheckmkManager`, registers the tools, and syncs every site on the leader."""

    name = "checkmk"

    def __init__(self, settings: CheckmkSettings | None = None) -> None:
        self.settings = settings or CheckmkSettings()
        self._hub: HubContext | None = None

    def routers(self) -> Sequence[APIRouter]:
        return [router]

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        manager = CheckmkManager(
            db=hub.db, bus=hub.bus, secret_key=hub.settings.secret, components=hub.components, settings=self.settings
        )
        hub.components.add(manager)
        self._hub = hub
        hub.registry.register_all(checkmk_tools(manager))

        async def sync() -> int:
            return len(await service.sync_all(manager))

        scheduler.add(SYNC_JOB, sync, seconds=self.settings.sync_interval_seconds)

    async def stop(self) -> None:
        if self._hub is not None:
            self._hub.components.remove(CheckmkManager)
            self._hub = None
