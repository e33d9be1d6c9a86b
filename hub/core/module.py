"""The shape of a feature module that ``hub.main`` composes (policies, native RMM, connectors, relay)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fastapi import APIRouter

from hub.core.context import HubContext
from hub.core.scheduler import Scheduler


class HubModule(Protocol):
    """A module contributes routes, tools (via :attr:`HubContext.registry`), services and jobs."""

    name: str

    def routers(self) -> Sequence[APIRouter]:
        """HTTP and WebSocket routes to mount."""
        ...

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        """Register tools, services and jobs; load dynamic tools from the database."""
        ...

    async def stop(self) -> None:
        """Release what :meth:`start` acquired."""
        ...
