"""Wiring of automation into the operations half: tools, routes and the leader-only rule job."""

from __future__ import annotations

from hub.core.context import HubContext
from hub.core.scheduler import Scheduler
from native_rmm.automation import approval_routing, patch_runner, patch_tools, schedule_runner, schedule_tools, tools
from native_rmm.automation.approval_routing import ApprovalRouter
from native_rmm.automation.engine import JOB_NAME, JOB_SECONDS, RuleEngine
from native_rmm.automation.patch_runner import PatchPolicyRunner
from native_rmm.automation.schedule_runner import ScheduleRunner
from policies.pipeline import Gate


def start(hub: HubContext, scheduler: Scheduler, gate: Gate) -> RuleEngine:
    """Register the alert-rule, schedule and patch-policy tools and their leader jobs; returns the rule engine."""
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
    hub.registry.register_all(patch_tools.tools())
    patches = PatchPolicyRunner(hub.db, gate)
    hub.components.add(patches)

    async def patch_windows() -> int:
        return await patches.tick()

    scheduler.add(patch_runner.JOB_NAME, patch_windows, seconds=patch_runner.JOB_SECONDS)
    router = ApprovalRouter(hub.db, gate)
    hub.components.add(router)

    async def route() -> int:
        return await router.tick()

    scheduler.add(approval_routing.JOB_NAME, route, seconds=approval_routing.JOB_SECONDS)
    return engine
