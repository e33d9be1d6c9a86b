"""Typed, trimmed outputs of the device tools (what the assistant and API clients receive)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from agent.protocol import PatchStatus
from native_rmm.models.devices import Device, DeviceStatus, InstalledApplication, PatchRecord


class SiteOut(BaseModel):
    id: int
    name: str
    customer_id: int
    customer: str
    device_count: int
    archived: bool = False


class CustomerOut(BaseModel):
    id: int
    name: str
    is_unassigned: bool
    device_count: int
    sites: list[SiteOut]
    archived: bool = False


class UserSessionOut(BaseModel):
    """A login session the agent reported."""

    name: str
    terminal: str | None = None
    host: str | None = None
    state: str | None = None
    started_at: datetime | None = None


class DeviceSummary(BaseModel):
    """One line of the device list."""

    id: int
    hostname: str
    display_name: str
    status: DeviceStatus
    os: str
    os_version: str
    ip: str | None
    customer_id: int
    customer: str
    site_id: int
    site: str
    last_seen_at: datetime | None
    agent_version: str
    cpu_percent: float | None
    memory_percent: float | None
    disk_percent: float | None
    is_demo: bool
    quick_support: bool
    support_code: str | None
    agent_outdated: bool = False  # a newer single-file agent release is on the hub (rmm-update-agents)
    description: str = ""
    assigned_user_name: str = ""
    assigned_user_email: str = ""
    logged_in_users: list[str] = []  # distinct user names with a session open now (agent-reported)
    last_user: str = ""
    tags: list[str] = []


class DeviceList(BaseModel):
    devices: list[DeviceSummary]
    count: int
    more: bool
    note: str = ""


class DeviceDetail(DeviceSummary):
    """Everything known about one device."""

    os_family: str | None
    ip_addresses: list[str]
    interfaces: list[dict[str, Any]]
    hardware: dict[str, Any]
    boot_time: datetime | None
    inventory_at: datetime | None
    ws_connected: bool
    created_at: datetime
    uninstalled_at: datetime | None
    uninstall_reason: str | None
    user_sessions: list[UserSessionOut] = []
    last_user_at: datetime | None = None
    users_reported_at: datetime | None = None


def summary(
    device: Device, *, site: str, customer_id: int, customer: str, tags: list[str] | None = None
) -> DeviceSummary:
    """The list view of a device."""
    return DeviceSummary(
        id=device.id, hostname=device.hostname, display_name=device.display_name, status=device.status,
        os=device.os_name or (device.os_family.value if device.os_family else ""), os_version=device.os_version,
        ip=device.primary_ip, customer_id=customer_id, customer=customer, site_id=device.site_id, site=site,
        last_seen_at=device.last_seen_at, agent_version=device.agent_version, cpu_percent=device.last_cpu_percent,
        memory_percent=device.last_memory_percent, disk_percent=device.last_disk_percent, is_demo=device.is_demo,
        quick_support=device.quick_support, support_code=device.support_code, description=device.description,
        assigned_user_name=device.assigned_user_name, assigned_user_email=device.assigned_user_email,
        logged_in_users=list(dict.fromkeys(u.get("name", "") for u in device.logged_in_users or [])),
        last_user=device.last_user, tags=tags or [],
    )  # fmt: skip


def detail(
    device: Device, *, site: str, customer_id: int, customer: str, tags: list[str] | None = None
) -> DeviceDetail:
    """The detail view of a device."""
    base = summary(device, site=site, customer_id=customer_id, customer=customer, tags=tags).model_dump()
    return DeviceDetail(
        **base, os_family=device.os_family.value if device.os_family else None, ip_addresses=device.ip_addresses,
        interfaces=device.interfaces[:32], hardware=device.hardware, boot_time=device.boot_time,
        inventory_at=device.inventory_at, ws_connected=device.ws_connected, created_at=device.created_at,
        uninstalled_at=device.uninstalled_at, uninstall_reason=device.uninstall_reason,
        user_sessions=[UserSessionOut.model_validate(u) for u in device.logged_in_users or []],
        last_user_at=device.last_user_at, users_reported_at=device.users_at,
    )  # fmt: skip


class MetricPoint(BaseModel):
    at: datetime
    cpu: float
    memory: float
    disk: float | None


class Trend(BaseModel):
    minimum: float
    average: float
    maximum: float


class DiskNow(BaseModel):
    mountpoint: str
    used_percent: float
    used_bytes: int
    total_bytes: int


class DeviceState(BaseModel):
    """Live health: the newest sample and the trend over the window."""

    device_id: int
    hostname: str
    status: DeviceStatus
    sample_at: datetime | None
    cpu_percent: float | None = None
    memory_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    disk_percent: float | None = None
    disks: list[DiskNow] = []
    load: list[float | None] = []
    uptime_seconds: int | None = None
    window_minutes: int
    samples: int = 0
    cpu_trend: Trend | None = None
    memory_trend: Trend | None = None
    disk_trend: Trend | None = None
    points: list[MetricPoint] = []
    note: str = ""


class AppOut(BaseModel):
    name: str
    version: str
    publisher: str


class AppList(BaseModel):
    device_id: int
    total: int
    applications: list[AppOut]
    more: bool

    @staticmethod
    def of(device_id: int, apps: list[InstalledApplication], total: int, offset: int) -> AppList:
        out = [AppOut(name=a.name, version=a.version, publisher=a.publisher) for a in apps]
        return AppList(device_id=device_id, total=total, applications=out, more=offset + len(out) < total)


class PatchOut(BaseModel):
    id: int
    key: str
    title: str
    severity: str | None
    status: PatchStatus
    first_seen_at: datetime
    updated_at: datetime
    installed_at: datetime | None
    marked_by: str | None

    @staticmethod
    def of(p: PatchRecord) -> PatchOut:
        return PatchOut(
            id=p.id, key=p.key, title=p.title, severity=p.severity, status=p.status, first_seen_at=p.first_seen_at,
            updated_at=p.updated_at, installed_at=p.installed_at, marked_by=p.marked_by,
        )  # fmt: skip


class PatchList(BaseModel):
    device_id: int
    pending: int
    patches: list[PatchOut]
