"""Reads of status pages: the admin's form (page and what could be shown) and the public view.

:func:`public_status` is the only read the public URL makes. It returns display names the admin
chose, up/down states and incident times: never an id, a hostname, an address, a user or an
alert's own message (which names hosts and targets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.db import utcnow
from hub.core.models import Customer, Site
from native_rmm.models.alerts import ACTIVE_STATUSES, Alert, AlertSeverity, AlertSource, MetricName
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.models.monitors import CheckState, Monitor
from native_rmm.models.status_pages import StatusPage
from native_rmm.status_pages import tokens
from native_rmm.status_pages.schemas import (
    ItemKind,
    PublicIncident,
    PublicItem,
    PublicState,
    PublicStatus,
    StatusItem,
    StatusPageOut,
)
from native_rmm.status_pages.service import customer_of, out, page_of

#: The most incidents a page lists (newest first).
MAX_INCIDENTS = 50
_DEVICE_STATE = {
    DeviceStatus.ONLINE: PublicState.UP,
    DeviceStatus.UNRESPONSIVE: PublicState.DEGRADED,
    DeviceStatus.OFFLINE: PublicState.DOWN,
    DeviceStatus.UNINSTALLED: PublicState.UNKNOWN,
}
_MONITOR_STATE = {
    CheckState.OK: PublicState.UP,
    CheckState.WARNING: PublicState.DEGRADED,
    CheckState.CRITICAL: PublicState.DOWN,
}
_METRIC_WHAT = {
    MetricName.CPU: "High CPU load",
    MetricName.MEMORY: "High memory use",
    MetricName.DISK: "Low disk space",
}
_RANK = [PublicState.DOWN, PublicState.DEGRADED, PublicState.UNKNOWN, PublicState.UP]


@dataclass(frozen=True)
class Candidate:
    """A monitor or device the admin may put on the page, with its current name."""

    kind: ItemKind
    id: int
    name: str
    detail: str


@dataclass(frozen=True)
class StatusPageForm:
    """The admin form: the page as saved and every candidate entry."""

    page: StatusPageOut
    monitors: list[Candidate]
    devices: list[Candidate]


async def status_page_form(session: AsyncSession, *, org_id: int, customer_id: int) -> StatusPageForm:
    """The customer's page and the org's monitors and the customer's devices (three statements)."""
    customer = await customer_of(session, org_id=org_id, customer_id=customer_id)
    row = await page_of(session, customer_id=customer.id)
    monitors = [
        Candidate(ItemKind.MONITOR, i, n, f"{k.value} {t}")
        for i, n, k, t in (
            await session.execute(
                select(Monitor.id, Monitor.name, Monitor.kind, Monitor.target)
                .where(Monitor.org_id == org_id)
                .order_by(Monitor.name, Monitor.id)
            )
        ).all()
    ]
    devices = [
        Candidate(ItemKind.DEVICE, i, d or h, f"{s} · {h}")
        for i, d, h, s in (
            await session.execute(
                select(Device.id, Device.display_name, Device.hostname, Site.name)
                .join(Site, Site.id == Device.site_id)
                .where(Site.customer_id == customer.id, Device.status != DeviceStatus.UNINSTALLED)
                .order_by(Device.hostname, Device.id)
            )
        ).all()
    ]
    return StatusPageForm(page=out(customer, row), monitors=monitors, devices=devices)


async def find_page(session: AsyncSession, token: str) -> StatusPage | None:
    """The enabled page of a live customer whose URL carries ``token``, else None (whatever the reason)."""
    if not tokens.well_formed(token):
        return None
    presented = tokens.digest(token)
    row = await session.scalar(select(StatusPage).where(StatusPage.token_digest == presented))
    if row is None or row.token_digest is None or not tokens.same(row.token_digest, presented) or not row.enabled:
        return None
    customer = await session.get(Customer, row.customer_id)
    return row if customer is not None and customer.archived_at is None else None


def _overall(states: list[PublicState]) -> PublicState:
    if not states:
        return PublicState.UNKNOWN
    worst = min(states, key=_RANK.index)
    return PublicState.UP if worst is PublicState.UNKNOWN and PublicState.UP in states else worst


async def public_status(session: AsyncSession, row: StatusPage) -> PublicStatus:
    """What the public page shows for ``row`` (found by :func:`find_page`)."""
    items = [StatusItem.model_validate(i) for i in row.items]
    monitor_ids = [i.id for i in items if i.kind is ItemKind.MONITOR]
    device_ids = [i.id for i in items if i.kind is ItemKind.DEVICE]
    states: dict[tuple[ItemKind, int], PublicState] = {}
    if monitor_ids:
        stmt = select(Monitor.id, Monitor.enabled, Monitor.last_state).where(
            Monitor.org_id == row.org_id, Monitor.id.in_(monitor_ids)
        )
        for i, enabled, state in (await session.execute(stmt)).all():
            known = _MONITOR_STATE.get(state, PublicState.UNKNOWN) if enabled and state else PublicState.UNKNOWN
            states[(ItemKind.MONITOR, i)] = known
    if device_ids:
        stmt2 = (
            select(Device.id, Device.status)
            .join(Site, Site.id == Device.site_id)
            .where(Device.org_id == row.org_id, Site.customer_id == row.customer_id, Device.id.in_(device_ids))
        )
        for i, status in (await session.execute(stmt2)).all():
            states[(ItemKind.DEVICE, i)] = _DEVICE_STATE[status]
    # An entry whose monitor was deleted or whose device left the customer drops off the page.
    shown = [PublicItem(i.label, i.kind, states[(i.kind, i.id)]) for i in items if (i.kind, i.id) in states]
    labels = {(i.kind, i.id): i.label for i in items if (i.kind, i.id) in states}
    now = utcnow()
    incidents: list[PublicIncident] = []
    live_monitors = [i for k, i in labels if k is ItemKind.MONITOR]
    live_devices = [i for k, i in labels if k is ItemKind.DEVICE]
    if live_monitors or live_devices:
        since = now - timedelta(days=row.incident_days)
        stmt3 = (
            select(Alert)
            .where(
                Alert.org_id == row.org_id,
                or_(Alert.monitor_id.in_(live_monitors), Alert.device_id.in_(live_devices)),
                or_(Alert.first_seen_at >= since, Alert.status.in_(ACTIVE_STATUSES)),
            )
            .order_by(Alert.first_seen_at.desc(), Alert.id.desc())
            .limit(MAX_INCIDENTS)
        )
        for alert in (await session.scalars(stmt3)).all():
            key = (
                (ItemKind.MONITOR, alert.monitor_id)
                if alert.source is AlertSource.MONITOR
                else (ItemKind.DEVICE, alert.device_id)
            )
            if key not in labels:
                continue
            if alert.source is AlertSource.MONITOR:
                what = "Down" if alert.severity is AlertSeverity.CRITICAL else "Degraded"
            else:
                what = _METRIC_WHAT.get(alert.metric, "Alert") if alert.metric else "Alert"
            incidents.append(
                PublicIncident(
                    label=labels[key],  # type: ignore[index]
                    what=what,
                    severity=alert.severity.value,
                    started_at=alert.first_seen_at,
                    resolved_at=None if alert.is_active else alert.resolved_at or alert.last_seen_at,
                )
            )
    return PublicStatus(
        title=row.title,
        overall=_overall([i.state for i in shown]),
        items=shown,
        incidents=incidents,
        incident_days=row.incident_days,
        generated_at=now,
    )
