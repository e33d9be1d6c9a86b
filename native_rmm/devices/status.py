"""Device status: defined here, computed here, and nowhere else.

Inputs per device: ``last_seen_at`` (last accepted check-in or WebSocket hello), ``ws_connected``
with ``ws_seen_at`` (refreshed by every pong, i.e. every ``ws_ping_interval``), the check-in
interval, and whether a command delivered to it is *overdue* (delivered more than
``ack_deadline_seconds`` ago and not acknowledged by ``command_ack``, a status or a result).

- ``connected`` = ``ws_connected`` and ``ws_seen_at`` within 3 x the ping interval (a socket whose
  pongs stopped, or a replica that died holding it, stops counting after three missed pings).
- ``recent`` = ``last_seen_at`` within 2 x the device's check-in interval.

Statuses, first match wins:

``UNINSTALLED``
    ``uninstalled_at`` is set (the agent deregistered, or an admin retired the device). Final.
``ONLINE``
    ``connected`` or ``recent``, and no overdue command.
``UNRESPONSIVE``
    ``connected`` or ``recent`` but a command is overdue (the agent is there but not answering);
    or neither, while the device was still seen (check-in or pong) within ``offline_after_minutes``
    (missed check-ins or unanswered pings, not yet long enough to call it offline).
``OFFLINE``
    Never seen, or no check-in and no pong for ``offline_after_minutes`` (setting
    ``RMMHUB_RMM_OFFLINE_AFTER_MINUTES``, default 5; never shorter than 2 check-in intervals).

Demo devices keep the status they were seeded with. The status is stored on the device
(``Device.status``, indexed for lists) and refreshed by the ``rmm-device-status`` job every
``status_job_seconds`` and at once when an agent checks in or connects after being away;
every change publishes ``device.status_changed`` (data: ``device_id``, ``old``, ``new``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import CommandStatus
from hub.core.events import EventBus
from hub.core.uow import publish_after_commit
from native_rmm.events import DEVICE_STATUS_CHANGED, DeviceStatusChanged
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.settings import RmmSettings


@dataclass(frozen=True)
class StatusInputs:
    """The columns of a device the status depends on."""

    uninstalled_at: datetime | None
    last_seen_at: datetime | None
    ws_connected: bool
    ws_seen_at: datetime | None
    checkin_interval_seconds: int


def compute_status(
    inputs: StatusInputs, *, overdue_command: bool, now: datetime, settings: RmmSettings
) -> DeviceStatus:
    """The status of one device at ``now`` (see the module docstring for the definitions)."""
    if inputs.uninstalled_at is not None:
        return DeviceStatus.UNINSTALLED
    ws_window = timedelta(seconds=3 * settings.ws_ping_interval_seconds)
    connected = inputs.ws_connected and inputs.ws_seen_at is not None and now - inputs.ws_seen_at <= ws_window
    interval = timedelta(seconds=inputs.checkin_interval_seconds)
    recent = inputs.last_seen_at is not None and now - inputs.last_seen_at <= 2 * interval
    if connected or recent:
        return DeviceStatus.UNRESPONSIVE if overdue_command else DeviceStatus.ONLINE
    offline_after = max(timedelta(minutes=settings.offline_after_minutes), 2 * interval)
    seen = max((t for t in (inputs.last_seen_at, inputs.ws_seen_at) if t is not None), default=None)
    if seen is not None and now - seen <= offline_after:
        return DeviceStatus.UNRESPONSIVE
    return DeviceStatus.OFFLINE


@dataclass(frozen=True)
class StatusChange:
    """A device whose stored status changed."""

    device_id: int
    org_id: int
    old: DeviceStatus
    new: DeviceStatus


async def overdue_devices(
    session: AsyncSession, *, now: datetime, settings: RmmSettings, device_ids: Sequence[int] | None = None
) -> set[int]:
    """Devices holding a delivered command unacknowledged for longer than the ack deadline."""
    cutoff = now - timedelta(seconds=settings.ack_deadline_seconds)
    stmt = select(Command.device_id).where(
        Command.status == CommandStatus.DELIVERED, Command.acked_at.is_(None), Command.delivered_at < cutoff
    )
    if device_ids is not None:
        stmt = stmt.where(Command.device_id.in_(device_ids))
    return set((await session.execute(stmt.distinct())).scalars().all())


async def refresh_statuses(
    session: AsyncSession,
    bus: EventBus,
    *,
    now: datetime,
    settings: RmmSettings,
    device_ids: Sequence[int] | None = None,
) -> list[StatusChange]:
    """Recompute and store the status of every live device (or of ``device_ids``); flushes, never commits.

    Each change is published as ``device.status_changed`` after the caller commits.
    """
    stmt = select(
        Device.id,
        Device.org_id,
        Device.status,
        Device.uninstalled_at,
        Device.last_seen_at,
        Device.ws_connected,
        Device.ws_seen_at,
        Device.checkin_interval_seconds,
    ).where(Device.is_demo.is_(False))
    if device_ids is not None:
        stmt = stmt.where(Device.id.in_(device_ids))
    else:
        stmt = stmt.where(Device.status != DeviceStatus.UNINSTALLED)
    rows = (await session.execute(stmt)).all()
    overdue = await overdue_devices(session, now=now, settings=settings, device_ids=device_ids)
    changes: list[StatusChange] = []
    for row in rows:
        inputs = StatusInputs(
            row.uninstalled_at, row.last_seen_at, row.ws_connected, row.ws_seen_at, row.checkin_interval_seconds
        )
        new = compute_status(inputs, overdue_command=row.id in overdue, now=now, settings=settings)
        if new != row.status:
            changes.append(StatusChange(row.id, row.org_id, row.status, new))
    if changes:
        await session.execute(
            update(Device),
            [{"id": c.device_id, "status": c.new, "status_changed_at": now} for c in changes],
        )
    for change in changes:
        publish_after_commit(
            session,
            bus,
            DEVICE_STATUS_CHANGED.event(
                change.org_id, DeviceStatusChanged(device_id=change.device_id, old=change.old, new=change.new)
            ),
        )
    return changes
