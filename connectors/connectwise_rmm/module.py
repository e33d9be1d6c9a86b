"""The ConnectWise RMM module: the connection manager service, its routes and the discovery schedule."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from connectors.connectwise_rmm import service
from connectors.connectwise_rmm.manager import ConnectionManager
from connectors.connectwise_rmm.routes import router
from connectors.connectwise_rmm.settings import ConnectWiseSettings
from hub.core.context import HubContext
from hub.core.scheduler import Scheduler
from policies.pipeline import Gate

DISCOVERY_JOB = "cw-rmm-discovery"


class ConnectWiseModule:
    """Adds the :class:`ConnectionManager` to the hub's components and every stored connection's tools."""

    name = "connectwise_rmm"

    def __init__(self, gate: Gate, settings: ConnectWiseSettings | None = None) -> None:
        self.gate = gate
        self.settings = settings or ConnectWiseSettings()
        self.manager: ConnectionManager | None = None
        self._hub: HubContext | None = None

    def routers(self) -> Sequence[APIRouter]:
        return [router]

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        manager = ConnectionManager(
            db=hub.db,
            registry=hub.registry,
            bus=hub.bus,
            gate=self.gate,
            secret_key=hub.settings.secret,
            settings=self.settings,
        )
        hub.components.add(manager)
        self.manager = manager
        self._hub = hub
        await manager.load_all()
        await manager.listen()

        async def discover() -> int:
            return len(await service.discover_all(manager))

        scheduler.add(DISCOVERY_JOB, discover, seconds=self.settings.discovery_interval_seconds)

    async def stop(self) -> None:
        if self.manager is not None:
            await self.manager.close()
            if self._hub is not None:
                self._hub.components.remove(ConnectionManager)
            self.manager = None
