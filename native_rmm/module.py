"""The native RMM device plane as a hub module: agent API, push channel, ingest, jobs and tools."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import cast

from fastapi import APIRouter

from hub.core.context import HubContext
from hub.core.scheduler import Scheduler
from hub.core.shutdown import run_steps
from hub.core.tickets import RemoteEventSink
from native_rmm import operations
from native_rmm.agent_api.downloads import router as downloads_router
from native_rmm.agent_api.install_routes import router as installers_router
from native_rmm.agent_api.routes import router as agent_router
from native_rmm.agent_api.ws import push_pending
from native_rmm.agent_api.ws import router as ws_router
from native_rmm.commands import jobs as command_jobs
from native_rmm.commands.push import AgentConnection, ConnectionRegistry, PushDispatcher
from native_rmm.devices import jobs as device_jobs
from native_rmm.devices.checkin_cache import CheckinCache
from native_rmm.devices.customer_routes import router as customers_router
from native_rmm.devices.routes import router as devices_router
from native_rmm.ingest import jobs as ingest_jobs
from native_rmm.ingest.writer import IngestWriter, SampleHook
from native_rmm.installers.wheel import WheelBuilder
from native_rmm.plane import DevicePlane
from native_rmm.remote import recorder
from native_rmm.settings import RmmSettings, get_rmm_settings
from native_rmm.tools import native_rmm_tools
from native_rmm.updates import auto as auto_update
from native_rmm.updates.releases import latest_version
from native_rmm.updates.routes import router as agent_updates_router
from native_rmm.updates.tools import UpdateConfig
from policies.pipeline import Gate

log = logging.getLogger(__name__)
ALERTS_SERVICE = "native_rmm.alerts.service"
WS_CLOSE_GOING_AWAY = 1001


def alerts_hook() -> SampleHook | None:
    """``native_rmm.alerts.service.evaluate_sample`` when the alerts domain is installed."""
    try:
        module = importlib.import_module(ALERTS_SERVICE)
    except ModuleNotFoundError as exc:
        if exc.name not in ("native_rmm.alerts", ALERTS_SERVICE):
            raise
        return None
    hook = getattr(module, "evaluate_sample", None)
    return cast(SampleHook, hook) if hook is not None else None


class NativeRmmModule:
    """Adds the :class:`DevicePlane` to the hub's components, registers the tools and three jobs."""

    name = "native_rmm"

    def __init__(self, gate: Gate, settings: RmmSettings | None = None) -> None:
        self._settings = settings
        self.plane: DevicePlane | None = None
        self._dispatcher: PushDispatcher | None = None
        self._operations = operations.Operations(gate)
        self._gate = gate
        self._hub: HubContext | None = None

    def routers(self) -> Sequence[APIRouter]:
        return [
            agent_router,
            ws_router,
            installers_router,
            downloads_router,
            devices_router,
            customers_router,
            agent_updates_router,
            recorder.router,
            *operations.routers(),
        ]

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        settings = self._settings or get_rmm_settings()
        cache = CheckinCache()
        # This process's check-in cache learns of a queued command the moment it commits (other
        # replicas learn it from the bus).
        hub.db.on_local_event(cache.on_local_event)
        writer = IngestWriter(hub.db, hub.bus, settings, sample_hook=alerts_hook())
        plane = DevicePlane(
            db=hub.db,
            bus=hub.bus,
            settings=settings,
            hub_settings=hub.settings,
            writer=writer,
            registry=ConnectionRegistry(),
            wheel=WheelBuilder(),
            cache=cache,
        )
        hub.components.add(plane)
        self._hub = hub
        self.plane = plane
        await writer.start()
        await plane.cache.start(hub.bus)

        async def resync(conns: list[AgentConnection]) -> int:
            return await push_pending(plane, conns)

        self._dispatcher = PushDispatcher(hub.bus, plane.registry, on_delivered=plane.delivered, on_resync=resync)
        await self._dispatcher.start()
        hub.registry.register_all(
            native_rmm_tools(
                lambda: latest_version(plane.settings.agent_dist_dir),
                lambda: UpdateConfig(plane.settings.agent_dist_dir, plane.settings.agent_update_confirm_seconds),
                lambda: plane.settings,
            )
        )
        device_jobs.add_jobs(scheduler, plane)
        command_jobs.add_jobs(scheduler, plane)
        ingest_jobs.add_jobs(scheduler, plane)
        recorder.start(hub, scheduler)
        gate = self._gate

        async def auto_update_job() -> int:
            return await auto_update.run_auto_updates(plane, gate)

        scheduler.add(auto_update.JOB_NAME, auto_update_job, seconds=settings.agent_auto_update_job_seconds)
        await self._operations.start(hub, scheduler)  # alerts, monitors, scripts, tickets

    async def stop(self) -> None:
        """Each step runs whatever the previous one raised: queued writes are always flushed."""
        plane = self.plane
        if plane is None:
            await self._operations.stop()
            return
        dispatcher = self._dispatcher

        async def close_sockets() -> None:
            await plane.registry.close_all(WS_CLOSE_GOING_AWAY, "the hub is shutting down")

        async def stop_dispatcher() -> None:
            if dispatcher is not None:
                await dispatcher.stop()

        async def cleanup_wheel() -> None:
            plane.wheel.cleanup()

        await run_steps(
            ("operations", self._operations.stop),
            ("agent sockets", close_sockets),
            ("push dispatcher", stop_dispatcher),
            ("check-in cache", plane.cache.stop),
            ("ingest writer flush", plane.writer.stop),
            ("agent wheel", cleanup_wheel),
        )
        if self._hub is not None:
            self._hub.components.remove(DevicePlane)
            self._hub.components.remove(RemoteEventSink)
        self.plane = None
