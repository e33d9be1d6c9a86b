"""Notifications as a hub module: the REST routes and the outbox delivery job."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from hub.core.context import HubContext
from hub.core.notify.delivery import DeliveryReport, deliver_due
from hub.core.notify.routes import router
from hub.core.notify.tools import tools
from hub.core.scheduler import Scheduler

JOB_NAME = "notify-deliver"
JOB_SECONDS = 5.0


class NotifyModule:
    """Mounts the routes; the scheduler leader runs the delivery job every few seconds."""

    name = "notify"

    def routers(self) -> Sequence[APIRouter]:
        return [router]

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        hub.registry.register_all(tools())

        async def deliver() -> DeliveryReport:
            return await deliver_due(hub.db, hub.settings.secret)

        scheduler.add(JOB_NAME, deliver, seconds=JOB_SECONDS)

    async def stop(self) -> None:
        return None
