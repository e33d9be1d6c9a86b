"""Wiring of automation into the operations half: tools, routes and the leader-only rule job."""

from __future__ import annotations

from hub.core.context import HubContext
from hub.core.scheduler import Scheduler
from native_rmm.automation import tools
from native_rmm.automation.engine import JOB_NAME, JOB_SECONDS, RuleEngine
from policies.pipeline import Gate


def start(hub: HubContext, scheduler: Scheduler, gate: Gate) -> RuleEngine:
    """Register the alert-rule tools and the engine's job; returns the engine (tests tick it)."""
    hub.registry.register_all(tools.tools(hub.registry))
    engine = RuleEngine(hub.db, gate)
    hub.components.add(engine)

    async def tick() -> int:
        return await engine.tick()

    scheduler.add(JOB_NAME, tick, seconds=JOB_SECONDS)
    return engine
