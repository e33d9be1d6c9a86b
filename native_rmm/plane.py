"""The device plane of one hub process: what the agent API, the push channel and jobs share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.core.db import Database
from hub.core.events import EventBus
from hub.core.settings import Settings
from native_rmm.commands.push import ConnectionRegistry
from native_rmm.devices.checkin_cache import CheckinCache
from native_rmm.ingest.writer import DeliveredItem, IngestWriter
from native_rmm.installers.wheel import WheelBuilder
from native_rmm.settings import RmmSettings


@dataclass
class DevicePlane:
    """Added to the hub's components by :class:`native_rmm.module.NativeRmmModule`."""

    db: Database
    bus: EventBus
    settings: RmmSettings
    hub_settings: Settings
    writer: IngestWriter
    registry: ConnectionRegistry
    wheel: WheelBuilder
    cache: CheckinCache

    def public_url(self, request_base_url: str) -> str:
        """The URL agents reach the hub at: ``RMMHUB_PUBLIC_URL``, else the URL this request came to."""
        return (self.hub_settings.public_url or request_base_url).rstrip("/")

    async def delivered(self, command_id: int, timeout_seconds: int, at: datetime) -> None:
        """Record (batched) that a command was pushed or handed out at ``at``."""
        deadline = at + timedelta(seconds=timeout_seconds + self.settings.command_grace_seconds)
        await self.writer.submit(DeliveredItem(command_id, at, deadline))
