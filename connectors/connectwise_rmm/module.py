"""The ConnectWise RMM module: the connection manager service, its routes and the discovery schedule."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from connectors.connectwise_rmm import service
from connectors.connectwise_rmm.manager import ConnectionManager
from connectors.connectwise_rmm.routes import SERVICE_NAME, router
from connectors.connectwise_rmm.settings import ConnectWiseSettings
from hub.core.context import HubContext
from hub.core.scheduler import Scheduler

DISCOVERY_JOB = "cw-rmm-discovery"


class ConnectWiseModule:
    """Registers ``hub.services["connectwise_rmm"]`` and every stored connection's tools at start-up."""

    name = "connectwise_rmm"

    def __init__(self, settings: ConnectWiseSettings | None = None) -> None:
        self.settings = settings or ConnectWiseSettings()
        self.manager: ConnectionManager | None = None

    def routers(self) -> Sequence[APIRouter]:
        return [router]

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        manager = ConnectionManager(
            db=hub.db,
            registry=hub.registry,
            bus=hub.bus,
            gate=hub.services["gate"],
            secret_key=hub.settings.secret,
            settings=self.settings,
        )
        hub.services[SERVICE_NAME] = manager
        self.manager = manager
        await manager.load_all()
        await manager.listen()

        async def discover() -> int:
            return len(await service.discover_all(manager))

        scheduler.add(DISCOVERY_JOB, discover, seconds=self.settings.discovery_interval_seconds)

    async def stop(self) -> None:
        if self.manager is not None:
            await self.manager.close()
            self.manager = None
