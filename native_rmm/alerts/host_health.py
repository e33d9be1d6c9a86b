"""native_rmm's side of :class:`hub.core.host_health.DeviceDirectory`: devices by hostname, and the
``checkmk`` alerts that external hosts raise and resolve (the same lifecycle as metric alerts, so the
alert rules, tickets and notifications see them unchanged)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.db import utcnow
from hub.core.events import EventBus
from hub.core.host_health import DeviceDirectory, DeviceRef, HostHealth
from native_rmm.alerts.events import announce
from native_rmm.alerts.service import auto_resolve, raise_alert
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus
from native_rmm.models.devices import Device

_CHUNK = 500


def _ref(device: Device) -> DeviceRef:
    return DeviceRef(id=device.id, hostname=device.hostname, label=device.label)


async def match_hostnames(session: AsyncSession, org_id: int, names: Sequence[str]) -> dict[str, DeviceRef]:
    """Devices whose hostname equals a name (case-insensitive), else whose short hostname (before the first
    dot) equals the name's short form: ``web01`` finds ``web01.acme.local`` and the other way round.

    The exact match wins over the short-name match; of several devices with the same hostname the oldest
    wins, so a re-enrolled duplicate never steals a mapping. One query over the organisation's hostnames.
    """
    stmt = select(Device.id, Device.hostname, Device.display_name).where(Device.org_id == org_id).order_by(Device.id)
    exact: dict[str, DeviceRef] = {}
    short: dict[str, DeviceRef] = {}
    for device_id, hostname, display_name in (await session.execute(stmt)).all():
        ref = DeviceRef(id=device_id, hostname=hostname, label=display_name or hostname)
        host = hostname.lower()
        exact.setdefault(host, ref)
        short.setdefault(host.split(".", 1)[0], ref)
    result: dict[str, DeviceRef] = {}
    for name in {n.lower() for n in names if n}:
        match = exact.get(name) or short.get(name.split(".", 1)[0])
        if match is not None:
            result[name] = match
    return result


async def get_device(session: AsyncSession, org_id: int, device_id: int) -> DeviceRef | None:
    """The device ``device_id`` when it belongs to ``org_id``."""
    device = await session.get(Device, device_id)
    return _ref(device) if device is not None and device.org_id == org_id else None


async def labels(session: AsyncSession, org_id: int, ids: Sequence[int]) -> dict[int, str]:
    """``{device id: label}`` of the devices ``ids`` of ``org_id`` (missing ones left out)."""
    found: dict[int, str] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _CHUNK):
        stmt = select(Device.id, Device.hostname, Device.display_name).where(
            Device.org_id == org_id, Device.id.in_(wanted[start : start + _CHUNK])
        )
        found.update({i: d or h for i, h, d in (await session.execute(stmt)).all()})
    return found


def directory(bus: EventBus | None = None) -> DeviceDirectory:
    """The directory a connector uses; alert events go out on ``bus`` after commit."""

    async def report(session: AsyncSession, org_id: int, health: Sequence[HostHealth]) -> tuple[int, int]:
        keys = [h.key for h in health]
        active: dict[str, Alert] = {}
        for start in range(0, len(keys), _CHUNK):
            stmt = select(Alert).where(Alert.active_key.in_(keys[start : start + _CHUNK]))
            active.update({a.active_key: a for a in (await session.execute(stmt)).scalars() if a.active_key})
        raised = resolved = 0
        fresh: list[Alert] = []
        now = utcnow()
        for item in health:
            current = active.get(item.key)
            if item.severity is None:
                if current is not None:
                    await auto_resolve(session, key=item.key, message=item.message, current=current, bus=bus)
                    resolved += 1
                continue
            if current is None:
                # New alerts are added together and flushed once (a first sync of a large site raises many).
                fresh.append(
                    Alert(
                        org_id=org_id,
                        device_id=item.device_id,
                        source=AlertSource.CHECKMK,
                        severity=AlertSeverity(item.severity),
                        status=AlertStatus.OPEN,
                        active_key=item.key,
                        message=item.message,
                        first_seen_at=now,
                        last_seen_at=now,
                    )
                )
                continue
            if current.device_id != item.device_id:
                current.device_id = item.device_id
            await raise_alert(
                session,
                org_id=org_id,
                key=item.key,
                source=AlertSource.CHECKMK,
                severity=AlertSeverity(item.severity),
                message=item.message,
                device_id=item.device_id,
                current=current,
                bus=bus,
            )
        if fresh:
            session.add_all(fresh)
            await session.flush()
            for alert in fresh:
                announce(session, bus, "raised", alert, escalated=False)
            raised += len(fresh)
        return raised, resolved

    return DeviceDirectory(match_hostnames=match_hostnames, get_device=get_device, labels=labels, report=report)
