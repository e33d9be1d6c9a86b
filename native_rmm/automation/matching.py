"""Does a rule match an alert? The alert's device placement (site, customer, tags, and the saved groups
the rule asks about) is loaded once per batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.models import Site
from native_rmm.automation.schemas import RuleMatch
from native_rmm.devices.queries import filter_devices, tags_of
from native_rmm.devices.targets import group_filters
from native_rmm.models.alerts import Alert
from native_rmm.models.devices import Device, DeviceGroup


@dataclass(frozen=True)
class Placement:
    """Where an alert's device sits (None / empty for an alert without a device, e.g. a monitor).

    ``groups`` holds only the groups that were asked about (a group is a saved filter, resolved now).
    """

    site_id: int | None
    customer_id: int | None
    tags: frozenset[str] = field(default_factory=frozenset)
    groups: frozenset[int] = field(default_factory=frozenset)


async def _group_members(
    session: AsyncSession, *, org_id: int, group_ids: Sequence[int], device_ids: Sequence[int]
) -> dict[int, set[int]]:
    """Device id -> the asked-for groups (of ``org_id``) whose filter matches it now."""
    out: dict[int, set[int]] = {d: set() for d in device_ids}
    if not group_ids or not device_ids:
        return out
    stmt = select(DeviceGroup).where(DeviceGroup.org_id == org_id, DeviceGroup.id.in_(list(group_ids)))
    for group in (await session.scalars(stmt)).all():
        members = filter_devices(select(Device.id), org_id, group_filters(group)).where(Device.id.in_(list(device_ids)))
        for device_id in (await session.scalars(members)).all():
            out[device_id].add(group.id)
    return out


async def placements(
    session: AsyncSession, alerts: Sequence[Alert], *, group_ids: Sequence[int] = ()
) -> dict[int, Placement]:
    """Alert id -> placement of its device (with its membership of ``group_ids``)."""
    device_ids = sorted({a.device_id for a in alerts if a.device_id is not None})
    rows: dict[int, tuple[int, int]] = {}
    if device_ids:
        stmt = select(Device.id, Device.site_id, Site.customer_id).join(Site, Site.id == Device.site_id)
        for device_id, site_id, customer_id in (await session.execute(stmt.where(Device.id.in_(device_ids)))).all():
            rows[device_id] = (site_id, customer_id)
    tags = await tags_of(session, device_ids=device_ids)
    members: dict[int, set[int]] = {}
    for org_id in {a.org_id for a in alerts}:
        org_devices = [a.device_id for a in alerts if a.org_id == org_id and a.device_id is not None]
        members |= await _group_members(session, org_id=org_id, group_ids=group_ids, device_ids=org_devices)
    out: dict[int, Placement] = {}
    for alert in alerts:
        if alert.device_id is None:
            out[alert.id] = Placement(None, None)
            continue
        site, customer = rows.get(alert.device_id, (None, None))
        out[alert.id] = Placement(
            site,
            customer,
            frozenset(tags.get(alert.device_id, [])),
            frozenset(members.get(alert.device_id, set())),
        )
    return out


def matches(match: RuleMatch, alert: Alert, where: Placement) -> bool:
    """Every non-empty criterion must hold (a tag or group criterion: the device has one of them)."""
    checks: list[tuple[list[object], object]] = [
        (list(match.severities), alert.severity),
        (list(match.sources), alert.source),
        (list(match.metrics), alert.metric),
        (list(match.monitor_ids), alert.monitor_id),
        (list(match.customer_ids), where.customer_id),
        (list(match.site_ids), where.site_id),
    ]
    if match.tags and not where.tags & set(match.tags):
        return False
    if match.group_ids and not where.groups & set(match.group_ids):
        return False
    return all(not wanted or value in wanted for wanted, value in checks)
