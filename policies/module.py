"""The policies module: the gate service, its REST routes and the approval-expiry job."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from hub.core.context import HubContext
from hub.core.scheduler import Scheduler
from policies import approvals
from policies.pipeline import Gate
from policies.routes import router

EXPIRY_INTERVAL_SECONDS = 60


class PoliciesModule:
    """Registers the :class:`Gate` as ``hub.services["gate"]``."""

    name = "policies"

    def __init__(self) -> None:
        self.gate: Gate | None = None

    def routers(self) -> Sequence[APIRouter]:
        return [router]

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        gate = Gate(registry=hub.registry, bus=hub.bus, settings=hub.settings)
        hub.services["gate"] = gate
        self.gate = gate

        async def expire() -> int:
            async with hub.db.transaction() as session:
                return await approvals.expire_due(session, gate)

        scheduler.add("approval-expiry", expire, seconds=EXPIRY_INTERVAL_SECONDS)

    async def stop(self) -> None:
        self.gate = None
