"""The policies module: the gate service, its REST routes and the approval-expiry job."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from hub.core.context import HubContext
from hub.core.scheduler import Scheduler
from policies import approvals
from policies.pipeline import Gate
from policies.routes import router
from policies.tools import policy_tools
from policies.users import router as users_router

EXPIRY_INTERVAL_SECONDS = 60


class PoliciesModule:
    """The approval routes and the approval-expiry job of the gate ``hub.main`` built."""

    name = "policies"

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def routers(self) -> Sequence[APIRouter]:
        return [router, users_router]

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        gate = self.gate
        hub.registry.register_all(policy_tools())

        async def expire() -> int:
            async with hub.db.transaction() as session:
                return await approvals.expire_due(session, gate)

        scheduler.add("approval-expiry", expire, seconds=EXPIRY_INTERVAL_SECONDS)

    async def stop(self) -> None:
        return None
