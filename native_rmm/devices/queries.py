"""Read services over devices, samples, alerts and sites for pages (and the assistant): paged lists with
totals, sparkline series, names for alert rows. Nothing here writes.

:class:`DeviceFilters` and :func:`filter_devices` are the one device filter: the device list page
and ``rmm-list-devices`` (through :func:`native_rmm.devices.service.list_devices`) match the same
devices for the same filters.

Each function is one or two statements whatever the page size (no per-row queries) and selects only
the columns a page shows, so the device list stays fast with 10,000 devices: the JSON inventory
columns are never loaded for lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVarTuple

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import OsFamily
from hub.core.db import utcnow
from hub.core.models import Customer, Site
from hub.core.tenancy import list_customers
from native_rmm.devices.schemas import CustomerOut, SiteOut
from native_rmm.models.alerts import ACTIVE_STATUSES, Alert
from native_rmm.models.devices import Device, DeviceStatus, DeviceTag, InstalledApplication
from native_rmm.models.metrics import MetricSample
from native_rmm.models.monitors import Monitor

SPARKLINE_MINUTES = 60
Ts = TypeVarTuple("Ts")


class DeviceFilters(BaseModel):
    """Which devices a list shows (all optional, all combined).

    ``q`` matches the hostname, the display name, the description or the primary IP address (a
    substring, any case). Uninstalled devices are left out unless ``status`` asks for them or
    ``include_uninstalled`` is set. ``customer`` matches the customer's name (a substring, any case).
    ``user`` matches the assigned user (name or email), a user logged in now or the last user to log
    in (a substring, any case). ``tag`` is one exact tag; ``application`` a substring of an installed
    application's name; ``open_alert`` keeps devices with (``True``) or without (``False``) an open or
    acknowledged alert.
    """

    model_config = ConfigDict(frozen=True)

    customer_id: int | None = None
    customer: str | None = None
    site_id: int | None = None
    status: DeviceStatus | None = None
    q: str = ""
    include_uninstalled: bool = False
    user: str = ""
    tag: str = ""
    os_family: OsFamily | None = None
    application: str = ""
    open_alert: bool | None = None
    device_ids: tuple[int, ...] | None = None

    @property
    def narrowed(self) -> bool:
        """Whether anything but the status narrows the list (then status counts are not the total)."""
        return bool(
            self.customer_id is not None
            or self.customer
            or self.site_id is not None
            or self.q.strip()
            or self.user.strip()
            or self.tag
            or self.os_family is not None
            or self.application.strip()
            or self.open_alert is not None
            or self.device_ids is not None
        )


@dataclass(frozen=True)
class DeviceListRow:
    """One row of the device table (plain values)."""

    id: int
    label: str
    hostname: str
    customer_name: str
    customer_unassigned: bool
    site_name: str
    os_family: StrEnum | None
    os_name: str
    os_version: str
    status: DeviceStatus
    primary_ip: str | None
    agent_version: str
    last_seen_at: datetime | None
    is_demo: bool
    quick_support: bool
    cpu: float | None
    memory: float | None
    disk: float | None
    site_id: int = 0
    description: str = ""
    assigned_user: str = ""
    logged_in: str = ""  # distinct names, space-separated (lower-cased)
    last_user: str = ""
    tags: tuple[str, ...] = ()

    @property
    def user(self) -> str:
        """Who uses it, as the list shows it: the assigned user, else the last user to log in."""
        return self.assigned_user or self.last_user


@dataclass(frozen=True)
class DevicePage:
    """A page of devices and the total matching the filters."""

    rows: list[DeviceListRow]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        """Whether another page follows."""
        return self.offset + len(self.rows) < self.total

    @property
    def first(self) -> int:
        """1-based index of the first row shown (0 when empty)."""
        return self.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """1-based index of the last row shown."""
        return self.offset + len(self.rows)


def filter_devices(stmt: Select[*Ts], org_id: int, filters: DeviceFilters, *, with_query: bool = True) -> Select[*Ts]:
    """``stmt`` (which joins ``Site`` and, when filtering by customer name, ``Customer``) narrowed to
    the organisation's devices matching ``filters`` (``with_query=False`` leaves the text query out)."""
    stmt = stmt.where(Device.org_id == org_id)
    if filters.customer_id is not None:
        stmt = stmt.where(Site.customer_id == filters.customer_id)
    if filters.customer:
        stmt = stmt.where(func.lower(Customer.name).contains(filters.customer.strip().lower(), autoescape=True))
    if filters.site_id is not None:
        stmt = stmt.where(Device.site_id == filters.site_id)
    if filters.status is not None:
        stmt = stmt.where(Device.status == filters.status)
    elif not filters.include_uninstalled:
        stmt = stmt.where(Device.status != DeviceStatus.UNINSTALLED)
    if filters.device_ids is not None:
        stmt = stmt.where(Device.id.in_(list(filters.device_ids)))
    if filters.os_family is not None:
        stmt = stmt.where(Device.os_family == filters.os_family)
    if filters.tag:
        has_tag = select(DeviceTag.id).where(DeviceTag.device_id == Device.id, DeviceTag.tag == filters.tag.lower())
        stmt = stmt.where(has_tag.exists())
    if filters.application.strip():
        app = filters.application.strip().lower()
        has_app = select(InstalledApplication.id).where(
            InstalledApplication.device_id == Device.id,
            func.lower(InstalledApplication.name).contains(app, autoescape=True),
        )
        stmt = stmt.where(has_app.exists())
    if filters.open_alert is not None:
        alerting = select(Alert.id).where(Alert.device_id == Device.id, Alert.status.in_(ACTIVE_STATUSES)).exists()
        stmt = stmt.where(alerting if filters.open_alert else ~alerting)
    user = filters.user.strip().lower()
    if user:
        stmt = stmt.where(
            or_(
                func.lower(Device.assigned_user_name).contains(user, autoescape=True),
                func.lower(Device.assigned_user_email).contains(user, autoescape=True),
                Device.logged_in_names.contains(user, autoescape=True),
                func.lower(Device.last_user).contains(user, autoescape=True),
            )
        )
    needle = filters.q.strip().lower() if with_query else ""
    if needle:
        stmt = stmt.where(
            or_(
                func.lower(Device.hostname).contains(needle, autoescape=True),
                func.lower(Device.display_name).contains(needle, autoescape=True),
                func.lower(Device.description).contains(needle, autoescape=True),
                Device.primary_ip.contains(needle, autoescape=True),
            )
        )
    return stmt


async def tags_of(session: AsyncSession, *, device_ids: Sequence[int]) -> dict[int, list[str]]:
    """The tags of each device (sorted), in one statement."""
    out: dict[int, list[str]] = {i: [] for i in device_ids}
    if not device_ids:
        return out
    stmt = select(DeviceTag.device_id, DeviceTag.tag).where(DeviceTag.device_id.in_(list(device_ids)))
    for device_id, tag in (await session.execute(stmt.order_by(DeviceTag.tag))).all():
        out[device_id].append(tag)
    return out


async def device_page(
    session: AsyncSession,
    *,
    org_id: int,
    filters: DeviceFilters,
    offset: int,
    limit: int,
    status_counts: dict[DeviceStatus, int] | None = None,
    grouped: bool = False,
) -> DevicePage:
    """One page of the organisation's devices by name, with the total (three statements at most).

    With ``status_counts`` (devices per status) and no filter but the status, the total is taken
    from them instead of counting again. ``grouped`` orders by customer and site first (the list's
    "group by customer / site").
    """
    columns = (
        select(
            Device.id,
            Device.display_name,
            Device.hostname,
            Customer.name,
            Customer.is_unassigned,
            Site.name,
            Device.os_family,
            Device.os_name,
            Device.os_version,
            Device.status,
            Device.primary_ip,
            Device.agent_version,
            Device.last_seen_at,
            Device.is_demo,
            Device.quick_support,
            Device.last_cpu_percent,
            Device.last_memory_percent,
            Device.last_disk_percent,
            Device.site_id,
            Device.description,
            Device.assigned_user_name,
            Device.logged_in_names,
            Device.last_user,
        )
        .join(Site, Site.id == Device.site_id)
        .join(Customer, Customer.id == Site.customer_id)
    )
    order = (Customer.is_unassigned.desc(), Customer.name, Site.name) if grouped else ()
    stmt = filter_devices(columns, org_id, filters).order_by(*order, Device.hostname, Device.id)
    stmt = stmt.offset(offset).limit(limit)
    found = (await session.execute(stmt)).all()
    tags = await tags_of(session, device_ids=[r[0] for r in found])
    rows = [
        DeviceListRow(
            id=r[0],
            label=r[1] or r[2],
            hostname=r[2],
            customer_name=r[3],
            customer_unassigned=r[4],
            site_name=r[5],
            os_family=r[6],
            os_name=r[7],
            os_version=r[8],
            status=r[9],
            primary_ip=r[10],
            agent_version=r[11],
            last_seen_at=r[12],
            is_demo=r[13],
            quick_support=r[14],
            cpu=r[15],
            memory=r[16],
            disk=r[17],
            site_id=r[18],
            description=r[19],
            assigned_user=r[20],
            logged_in=r[21],
            last_user=r[22],
            tags=tuple(tags[r[0]]),
        )
        for r in found
    ]
    if offset == 0 and len(rows) < limit:
        total = len(rows)
    elif status_counts is not None and not filters.narrowed:
        wanted = (
            [filters.status]
            if filters.status
            else [s for s in DeviceStatus if s is not DeviceStatus.UNINSTALLED or filters.include_uninstalled]
        )
        total = sum(status_counts.get(s, 0) for s in wanted)
    else:
        count = (
            select(func.count())
            .select_from(Device)
            .join(Site, Site.id == Device.site_id)
            .join(Customer, Customer.id == Site.customer_id)
        )
        total = int((await session.execute(filter_devices(count, org_id, filters))).scalar_one())
    return DevicePage(rows=rows, total=total, offset=offset, limit=limit)


async def customer_overview(session: AsyncSession, *, org_id: int) -> list[CustomerOut]:
    """Every customer with its sites and live-device counts (two statements), Unassigned first then by name."""
    per_site_stmt = (
        select(Device.site_id, func.count())
        .where(Device.org_id == org_id, Device.uninstalled_at.is_(None))
        .group_by(Device.site_id)
    )
    per_site = {k: n for k, n in (await session.execute(per_site_stmt)).all()}
    out = []
    for c in await list_customers(session, org_id):
        sites = [
            SiteOut(
                id=s.id,
                name=s.name,
                customer_id=c.id,
                customer=c.name,
                device_count=per_site.get(s.id, 0),
                archived=s.archived_at is not None,
            )
            for s in c.sites
        ]
        out.append(
            CustomerOut(
                id=c.id,
                name=c.name,
                is_unassigned=c.is_unassigned,
                sites=sites,
                device_count=sum(s.device_count for s in sites),
                archived=c.archived_at is not None,
            )
        )
    return out


@dataclass(frozen=True)
class SiteChoice:
    """A site for the filter and installer pickers."""

    id: int
    name: str
    customer_id: int
    customer_name: str
    archived: bool = False  # the site or its customer is archived: no devices move there


async def site_choices(session: AsyncSession, *, org_id: int) -> list[SiteChoice]:
    """Every site of the organisation with its customer, Unassigned first then by name."""
    stmt = (
        select(
            Site.id,
            Site.name,
            Customer.id,
            Customer.name,
            or_(Site.archived_at.is_not(None), Customer.archived_at.is_not(None)),
        )
        .join(Customer, Customer.id == Site.customer_id)
        .where(Customer.org_id == org_id)
        .order_by(Customer.is_unassigned.desc(), Customer.name, Site.name)
    )
    return [SiteChoice(*r) for r in (await session.execute(stmt)).all()]


@dataclass(frozen=True)
class Placement:
    """Where a device lives."""

    site_name: str
    customer_id: int
    customer_name: str


async def placement(session: AsyncSession, *, site_id: int) -> Placement:
    """The site and customer names of a site."""
    stmt = select(Site.name, Customer.id, Customer.name).join(Customer).where(Site.id == site_id)
    row = (await session.execute(stmt)).one()
    return Placement(row[0], row[1], row[2])


@dataclass(frozen=True)
class Series:
    """Samples of the last hour for the sparklines (epoch seconds; ``None`` where not reported)."""

    t: list[float]
    cpu: list[float]
    memory: list[float]
    disk: list[float | None]
    load: list[float | None]
    net_sent: list[float | None]
    net_recv: list[float | None]


async def sparkline_series(
    session: AsyncSession, *, device_id: int, minutes: int = SPARKLINE_MINUTES, now: datetime | None = None
) -> Series:
    """The device's samples of the last ``minutes`` (one range scan of the (device, time) index)."""
    since = (now or utcnow()) - timedelta(minutes=minutes)
    stmt = (
        select(
            MetricSample.taken_at,
            MetricSample.cpu_percent,
            MetricSample.memory_percent,
            MetricSample.disk_percent,
            MetricSample.load_1,
            MetricSample.net_sent_bps,
            MetricSample.net_recv_bps,
        )
        .where(MetricSample.device_id == device_id, MetricSample.taken_at >= since)
        .order_by(MetricSample.taken_at)
    )
    rows = (await session.execute(stmt)).all()
    return Series(
        t=[r[0].timestamp() for r in rows],
        cpu=[round(r[1], 1) for r in rows],
        memory=[round(r[2], 1) for r in rows],
        disk=[None if r[3] is None else round(r[3], 1) for r in rows],
        load=[None if r[4] is None else round(r[4], 2) for r in rows],
        net_sent=[None if r[5] is None else round(r[5], 1) for r in rows],
        net_recv=[None if r[6] is None else round(r[6], 1) for r in rows],
    )


async def latest_sample(session: AsyncSession, *, device_id: int) -> MetricSample | None:
    """The device's newest sample (for memory bytes, load and per-disk usage)."""
    stmt = (
        select(MetricSample).where(MetricSample.device_id == device_id).order_by(MetricSample.taken_at.desc()).limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class AlertRow:
    """An alert with the name of its device (one joined statement for the whole list)."""

    alert: Alert
    device_label: str | None
    #: The name of the monitor that raised it (monitor alerts; None otherwise or once the monitor is gone).
    monitor_name: str | None = None


async def alert_rows(
    session: AsyncSession,
    *,
    org_id: int,
    device_id: int | None = None,
    alert_id: int | None = None,
    active_only: bool = True,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AlertRow]:
    """Alerts newest first with their device names (open and acknowledged by default)."""
    label = func.coalesce(func.nullif(Device.display_name, ""), Device.hostname)
    stmt = (
        select(Alert, label, Monitor.name)
        .outerjoin(Device, Device.id == Alert.device_id)
        .outerjoin(Monitor, Monitor.id == Alert.monitor_id)
        .where(Alert.org_id == org_id)
    )
    if device_id is not None:
        stmt = stmt.where(Alert.device_id == device_id)
    if alert_id is not None:
        stmt = stmt.where(Alert.id == alert_id)
    if active_only:
        stmt = stmt.where(Alert.status.in_(ACTIVE_STATUSES))
    if before_id is not None:
        stmt = stmt.where(Alert.id < before_id)
    rows = (await session.execute(stmt.order_by(Alert.id.desc()).limit(limit))).all()
    return [AlertRow(r[0], r[1], r[2]) for r in rows]


async def active_alert_count(session: AsyncSession, *, org_id: int, device_id: int | None = None) -> int:
    """Open or acknowledged alerts (of one device, or of the organisation)."""
    stmt = select(func.count()).select_from(Alert).where(Alert.org_id == org_id, Alert.status.in_(ACTIVE_STATUSES))
    if device_id is not None:
        stmt = stmt.where(Alert.device_id == device_id)
    return int((await session.execute(stmt)).scalar_one())


async def quick_support_devices(session: AsyncSession, *, org_id: int, limit: int = 200) -> Sequence[Device]:
    """Quick-support devices of the organisation, newest first."""
    stmt = (
        select(Device)
        .where(Device.org_id == org_id, Device.quick_support.is_(True))
        .order_by(Device.created_at.desc(), Device.id.desc())
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def pick_devices(session: AsyncSession, *, org_id: int, q: str, limit: int = 20) -> list[tuple[int, str, str]]:
    """Devices (id, label, OS) matching ``q`` for the script run dialog; live agents only."""
    stmt = select(Device.id, Device.display_name, Device.hostname, Device.os_name).where(
        Device.org_id == org_id, Device.status != DeviceStatus.UNINSTALLED
    )
    needle = q.strip().lower()
    if needle:
        stmt = stmt.where(
            or_(
                func.lower(Device.hostname).contains(needle, autoescape=True),
                func.lower(Device.display_name).contains(needle, autoescape=True),
            )
        )
    rows = (await session.execute(stmt.order_by(Device.hostname, Device.id).limit(limit))).all()
    return [(r[0], r[1] or r[2], r[3]) for r in rows]


async def devices_by_id(session: AsyncSession, *, org_id: int, ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(id, label, OS) of the given devices of the organisation, by name."""
    if not ids:
        return []
    stmt = select(Device.id, Device.display_name, Device.hostname, Device.os_name).where(
        Device.org_id == org_id, Device.id.in_(list(ids))
    )
    rows = (await session.execute(stmt.order_by(Device.hostname, Device.id))).all()
    return [(r[0], r[1] or r[2], r[3]) for r in rows]
