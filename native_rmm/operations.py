"""The operations half of the native RMM (alerts, monitors, scripts, tickets) as one unit.

``native_rmm.module.NativeRmmModule`` mounts :func:`routers` and calls :meth:`Operations.start` /
:meth:`Operations.stop`; everything this half needs at run time is wired here:

- the dynamic ``rmm-script-<slug>`` tools (the static ones are in :mod:`native_rmm.tools`),
  loaded for every organisation (seeding the default library where an organisation has none),
  kept in step across replicas by a ``script.changed`` watcher;
- the ``rmm-monitors`` scheduled job (due synthetic monitors, bounded concurrency).

The policy gate comes from ``hub.main`` (the module that owns the operations passes it).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from hub.core.context import HubContext
from hub.core.host_health import DeviceDirectory
from hub.core.scheduler import Scheduler
from native_rmm.alerts import host_health
from native_rmm.alerts import routes as alert_routes
from native_rmm.automation import jobs as automation_jobs
from native_rmm.automation import patch_routes
from native_rmm.automation import routes as automation_routes
from native_rmm.automation.approval_routing import ApprovalRouter
from native_rmm.automation.engine import RuleEngine
from native_rmm.automation.patch_runner import PatchPolicyRunner
from native_rmm.automation.schedule_runner import ScheduleRunner
from native_rmm.monitors import jobs as monitor_jobs
from native_rmm.monitors import routes as monitor_routes
from native_rmm.scripts import jobs as script_jobs
from native_rmm.scripts import routes as script_routes
from native_rmm.tickets import routes as ticket_routes
from policies.pipeline import Gate


def routers() -> list[APIRouter]:
    """REST routes of alerts/thresholds, monitors, scripts and tickets."""
    return [
        alert_routes.router,
        monitor_routes.router,
        script_routes.router,
        ticket_routes.router,
        automation_routes.router,
        patch_routes.router,
    ]


class Operations:
    """Start-up and shutdown of the operations half."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self._hub: HubContext | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        """Load the script tools, start their watcher, add the monitor job (the static tools are in
        :mod:`native_rmm.tools`)."""
        gate = self._gate
        self._hub = hub
        await script_jobs.load_all(hub, gate)
        self._watcher = script_jobs.start_watcher(hub)

        async def run_monitors() -> int:
            return await monitor_jobs.run_due(hub)

        scheduler.add(monitor_jobs.JOB_NAME, run_monitors, seconds=monitor_jobs.JOB_INTERVAL_SECONDS)
        automation_jobs.start(hub, scheduler, gate)
        # External monitoring (Checkmk) maps hosts to devices and raises alerts through this port.
        hub.components.add(host_health.directory(hub.bus))

    async def stop(self) -> None:
        """Stop the watcher."""
        await script_jobs.stop_watcher(self._watcher)
        self._watcher = None
        if self._hub is not None:
            self._hub.components.remove(RuleEngine)
            self._hub.components.remove(ScheduleRunner)
            self._hub.components.remove(PatchPolicyRunner)
            self._hub.components.remove(ApprovalRouter)
            self._hub.components.remove(DeviceDirectory)
        self._hub = None
