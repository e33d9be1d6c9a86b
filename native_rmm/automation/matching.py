"""Does a rule match an alert? The alert's device placement (site, customer) is loaded once per batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.models import Site
from native_rmm.automation.schemas import RuleMatch
from native_rmm.models.alerts import Alert
from native_rmm.models.devices import Device


@dataclass(frozen=True)
class Placement:
    """Where an alert's device sits (None for an alert without a device, e.g. a monitor)."""

    site_id: int | None
    customer_id: int | None


async def placements(session: AsyncSession, alerts: Sequence[Alert]) -> dict[int, Placement]:
    """Alert id -> placement of its device."""
    device_ids = {a.device_id for a in alerts if a.device_id is not None}
    rows: dict[int, tuple[int, int]] = {}
    if device_ids:
        stmt = select(Device.id, Device.site_id, Site.customer_id).join(Site, Site.id == Device.site_id)
        for device_id, site_id, customer_id in (await session.execute(stmt.where(Device.id.in_(device_ids)))).all():
            rows[device_id] = (site_id, customer_id)
    out: dict[int, Placement] = {}
    for alert in alerts:
        site, customer = rows.get(alert.device_id, (None, None)) if alert.device_id is not None else (None, None)
        out[alert.id] = Placement(site, customer)
    return out


def matches(match: RuleMatch, alert: Alert, where: Placement) -> bool:
    """Every non-empty criterion must hold."""
    checks: list[tuple[list[object], object]] = [
        (list(match.severities), alert.severity), (list(match.sources), alert.source),
        (list(match.metrics), alert.metric), (list(match.monitor_ids), alert.monitor_id),
        (list(match.customer_ids), where.customer_id), (list(match.site_ids), where.site_id),
    ]  # fmt: skip
    return all(not wanted or value in wanted for wanted, value in checks)
