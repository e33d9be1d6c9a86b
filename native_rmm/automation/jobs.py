"""Wiring of automation into the operations half: tools, routes and the leader-only rule job."""

from __future__ import annotations

from hub.core.context import HubContext
from hub.core.scheduler import Scheduler
from native_rmm.automation import schedule_runner, schedule_tools, tools
from native_rmm.automation.engine import JOB_NAME, JOB_SECONDS, RuleEngine
from native_rmm.automation.schedule_runner import ScheduleRunner
from policies.pipeline import Gate


def start(hub: HubContext, scheduler: Scheduler, gate: Gate) -> RuleEngine:
    """Register the alert-rule and schedule tools and their leader jobs; returns the rule engine."""
    hub.registry.register_all(tools.tools(hub.registry))
    engine = RuleEngine(hub.db, gate)
    hub.components.add(engine)

    async def tick() -> int:
        return await engine.tick()

    scheduler.add(JOB_NAME, tick, seconds=JOB_SECONDS)
    hub.registry.register_all(schedule_tools.tools())
    runner = ScheduleRunner(hub.db, gate)
    hub.components.add(runner)

    async def fire() -> int:
        return await runner.tick()

    scheduler.add(schedule_runner.JOB_NAME, fire, seconds=schedule_runner.JOB_SECONDS)
    return engine
