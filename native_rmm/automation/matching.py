"""Does a rule match an alert? The alert's device placement (site, customer, tags, saved groups) is
loaded once per batch: a few statements whatever the number of alerts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.models import Customer, Site
from native_rmm.automation.schemas import RuleMatch
from native_rmm.devices.queries import filter_devices, tags_of
from native_rmm.devices.targets import group_filters
from native_rmm.models.alerts import Alert
from native_rmm.models.devices import Device, DeviceGroup


@dataclass(frozen=True)
class Placement:
    """Where an alert's device sits (None and empty for an alert without a device, e.g. a monitor).

    ``groups`` holds only the saved groups that were asked about (see :func:`placements`).
    """

    site_id: int | None
    customer_id: int | None
    tags: frozenset[str] = field(default_factory=frozenset)
    groups: frozenset[int] = field(default_factory=frozenset)


def groups_of(matches: Iterable[RuleMatch]) -> set[int]:
    """The saved groups some of ``matches`` ask about."""
    return {g for m in matches for g in m.group_ids}


async def _members(session: AsyncSession, group_ids: set[int], device_ids: set[int]) -> dict[int, set[int]]:
    """Device id -> the groups of ``group_ids`` it is in now (a group is a saved filter, matched live)."""
    out: dict[int, set[int]] = {}
    if not group_ids or not device_ids:
        return out
    groups = (await session.scalars(select(DeviceGroup).where(DeviceGroup.id.in_(group_ids)))).all()
    for group in groups:
        filters = group_filters(group)
        scoped = filters.model_copy(
            update={"device_ids": tuple(sorted(device_ids & set(filters.device_ids or device_ids)))}
        )
        stmt = select(Device.id).join(Site, Site.id == Device.site_id).join(Customer, Customer.id == Site.customer_id)
        for device_id in (await session.scalars(filter_devices(stmt, group.org_id, scoped))).all():
            out.setdefault(device_id, set()).add(group.id)
    return out


async def placements(
    session: AsyncSession, alerts: Sequence[Alert], *, group_ids: Iterable[int] = ()
) -> dict[int, Placement]:
    """Alert id -> placement of its device; ``group_ids`` are the saved groups whose membership matters."""
    device_ids = {a.device_id for a in alerts if a.device_id is not None}
    rows: dict[int, tuple[int, int]] = {}
    tags: dict[int, list[str]] = {}
    if device_ids:
        stmt = select(Device.id, Device.site_id, Site.customer_id).join(Site, Site.id == Device.site_id)
        for device_id, site_id, customer_id in (await session.execute(stmt.where(Device.id.in_(device_ids)))).all():
            rows[device_id] = (site_id, customer_id)
        tags = await tags_of(session, device_ids=sorted(device_ids))
    members = await _members(session, set(group_ids), device_ids)
    out: dict[int, Placement] = {}
    for alert in alerts:
        if alert.device_id is None or alert.device_id not in rows:
            out[alert.id] = Placement(None, None)
            continue
        site, customer = rows[alert.device_id]
        out[alert.id] = Placement(
            site,
            customer,
            tags=frozenset(tags.get(alert.device_id, ())),
            groups=frozenset(members.get(alert.device_id, ())),
        )
    return out


def matches(match: RuleMatch, alert: Alert, where: Placement) -> bool:
    """Every non-empty criterion must hold; ``tags`` and ``group_ids`` hold when the device has any of them."""
    checks: list[tuple[list[object], object]] = [
        (list(match.severities), alert.severity),
        (list(match.sources), alert.source),
        (list(match.metrics), alert.metric),
        (list(match.monitor_ids), alert.monitor_id),
        (list(match.customer_ids), where.customer_id),
        (list(match.site_ids), where.site_id),
    ]
    if not all(not wanted or value in wanted for wanted, value in checks):
        return False
    if match.tags and where.tags.isdisjoint(match.tags):
        return False
    return not (match.group_ids and where.groups.isdisjoint(match.group_ids))
