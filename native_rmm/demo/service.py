"""Seed demo devices (``is_demo=True``) with plausible inventory, apps, patches and a day of samples.

Demo devices never check in; they keep the status they were seeded with (see
:mod:`native_rmm.status`) and the UI marks them as demo. ``clear_demo_devices`` removes them all.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import OsFamily, PatchStatus
from hub.core.db import utcnow
from hub.core.models import Customer, Site
from hub.core.tenancy import create_customer
from native_rmm.models.devices import Device, DeviceStatus, InstalledApplication, PatchRecord
from native_rmm.models.metrics import MetricSample

DEMO_CUSTOMER = "Demo Customer"


@dataclass(frozen=True)
class DemoSpec:
    hostname: str
    os_family: OsFamily
    os_name: str
    os_version: str
    status: DeviceStatus
    cpu_base: float
    ram_gb: int
    disk_gb: int


FLEET = [
    DemoSpec("LON-DC-01", OsFamily.WINDOWS, "Windows Server 2022", "10.0.20348", DeviceStatus.ONLINE, 12, 16, 240),
    DemoSpec("LON-WS-04", OsFamily.WINDOWS, "Windows 11 Pro", "10.0.22631", DeviceStatus.ONLINE, 25, 16, 512),
    DemoSpec("MCR-LAP-12", OsFamily.MACOS, "macOS", "14.5", DeviceStatus.OFFLINE, 18, 16, 512),
    DemoSpec("LON-WEB-02", OsFamily.LINUX, "Ubuntu", "22.04", DeviceStatus.ONLINE, 35, 8, 100),
    DemoSpec("LON-DB-01", OsFamily.LINUX, "Debian GNU/Linux", "12", DeviceStatus.UNRESPONSIVE, 60, 32, 1000),
    DemoSpec("MCR-WS-07", OsFamily.WINDOWS, "Windows 10 Pro", "10.0.19045", DeviceStatus.ONLINE, 8, 8, 256),
]
#: How long ago a seeded device was last seen, so "last seen" agrees with its status (an UNRESPONSIVE
#: device missed its last check-ins a few minutes ago; an OFFLINE one went quiet hours ago).
_SILENT_FOR = {DeviceStatus.UNRESPONSIVE: timedelta(minutes=3), DeviceStatus.OFFLINE: timedelta(hours=3)}
APPS: dict[OsFamily, list[tuple[str, str, str]]] = {
    OsFamily.WINDOWS: [("Microsoft Edge", "126.0", "Microsoft"), ("7-Zip", "23.01", "Igor Pavlov"),
                       ("Google Chrome", "126.0", "Google LLC"), ("Microsoft 365", "16.0", "Microsoft")],
    OsFamily.LINUX: [("openssh-server", "9.2p1", "Debian"), ("nginx", "1.22.1", "Debian"),
                     ("postgresql-15", "15.7", "Debian"), ("curl", "7.88.1", "Debian")],
    OsFamily.MACOS: [("Safari", "17.5", "Apple"), ("Slack", "4.38", "Slack Technologies"),
                     ("Microsoft Teams", "24124", "Microsoft")],
}  # fmt: skip
PATCHES: dict[OsFamily, list[tuple[str, str, str | None]]] = {
    OsFamily.WINDOWS: [("KB5039212", "2024-06 Cumulative Update", "Critical"), ("KB890830", "Malicious Software Removal Tool", "Important")],
    OsFamily.LINUX: [("openssl", "openssl 3.0.13-1~deb12u1", "important"), ("libc6", "libc6 2.36-9+deb12u7", None)],
    OsFamily.MACOS: [("macOS Sonoma 14.5.1", "macOS Sonoma 14.5.1", None)],
}  # fmt: skip


async def _demo_site(session: AsyncSession, org_id: int) -> Site:
    customer = (
        await session.execute(select(Customer).where(Customer.org_id == org_id, Customer.name == DEMO_CUSTOMER))
    ).scalar_one_or_none()
    if customer is None:
        customer = await create_customer(session, org_id=org_id, name=DEMO_CUSTOMER)
    stmt = select(Site).where(Site.customer_id == customer.id).order_by(Site.id)
    site = (await session.execute(stmt)).scalars().first()
    if site is None:
        raise RuntimeError(f"customer {DEMO_CUSTOMER!r} has no site")
    return site


def _samples(
    device_id: int, spec: DemoSpec, *, until: datetime, hours: int, rng: random.Random
) -> list[dict[str, Any]]:
    rows = []
    minutes = hours * 60
    ram = spec.ram_gb * 1024**3
    disk_total = spec.disk_gb * 10**9
    disk_pct = rng.uniform(35, 80)
    for m in range(minutes, 0, -1):
        at = until - timedelta(minutes=m)
        daily = math.sin((at.hour * 60 + at.minute) / 1440 * 2 * math.pi - math.pi / 2) * 0.5 + 0.5
        cpu = min(100.0, max(0.5, spec.cpu_base * (0.6 + daily) + rng.gauss(0, 4)))
        mem = min(99.0, max(5.0, 40 + daily * 25 + rng.gauss(0, 3)))
        disk_pct = min(99.0, disk_pct + rng.uniform(0, 0.002))
        rows.append({
            "device_id": device_id, "taken_at": at, "cpu_percent": round(cpu, 1), "memory_percent": round(mem, 1),
            "memory_used_bytes": int(ram * mem / 100), "memory_total_bytes": ram, "disk_percent": round(disk_pct, 1),
            "disks": [{"mountpoint": "C:\\" if spec.os_family is OsFamily.WINDOWS else "/",
                       "used_percent": round(disk_pct, 1), "used_bytes": int(disk_total * disk_pct / 100),
                       "total_bytes": disk_total}],
            "load_1": None if spec.os_family is OsFamily.WINDOWS else round(cpu / 25, 2),
            "load_5": None if spec.os_family is OsFamily.WINDOWS else round(cpu / 27, 2),
            "load_15": None if spec.os_family is OsFamily.WINDOWS else round(cpu / 30, 2),
            "uptime_seconds": 86400 * 12 + (minutes - m) * 60,
        })  # fmt: skip
    return rows


async def seed_demo_devices(
    session: AsyncSession, *, org_id: int, hours: int = 24, now: datetime | None = None, seed: int = 7
) -> list[Device]:
    """Create the demo fleet under the "Demo Customer" with ``hours`` of one-a-minute samples."""
    now = now or utcnow()
    rng = random.Random(seed)
    site = await _demo_site(session, org_id)
    devices: list[Device] = []
    for n, spec in enumerate(FLEET):
        ip = f"10.20.{n // 250}.{n % 250 + 10}"
        stopped = now - _SILENT_FOR.get(spec.status, timedelta(0))
        device = Device(
            org_id=org_id, site_id=site.id, hostname=spec.hostname, os_family=spec.os_family, os_name=spec.os_name,
            os_version=spec.os_version, primary_ip=ip, ip_addresses=[ip],
            interfaces=[{"name": "eth0", "mac": f"02:00:00:00:00:{n:02x}", "ipv4": [ip], "ipv6": [], "is_up": True,
                         "speed_mbps": 1000}],
            hardware={"cpu_model": "Demo CPU", "cpu_cores": 4, "cpu_threads": 8, "ram_bytes": spec.ram_gb * 1024**3,
                      "disks": [{"device": "disk0", "mountpoint": "/", "fstype": "demo",
                                 "total_bytes": spec.disk_gb * 10**9}],
                      "manufacturer": "Demo", "model": "Demo 1", "serial_number": f"DEMO-{n:04d}"},
            agent_version="demo", status=spec.status, status_changed_at=stopped, last_seen_at=stopped,
            inventory_at=now, is_demo=True, boot_time=now - timedelta(days=12),
        )  # fmt: skip
        session.add(device)
        await session.flush()
        rows = _samples(device.id, spec, until=stopped, hours=hours, rng=rng)
        if rows:
            await session.execute(insert(MetricSample), rows)
            last = rows[-1]
            device.last_metrics_at = last["taken_at"]
            device.last_cpu_percent, device.last_memory_percent = last["cpu_percent"], last["memory_percent"]
            device.last_disk_percent = last["disk_percent"]
        await session.execute(insert(InstalledApplication), [
            {"device_id": device.id, "name": a, "version": v, "publisher": p} for a, v, p in APPS[spec.os_family]
        ])  # fmt: skip
        for key, title, severity in PATCHES[spec.os_family]:
            session.add(PatchRecord(device_id=device.id, key=key, title=title, severity=severity,
                                    status=PatchStatus.PENDING, first_seen_at=now, updated_at=now))  # fmt: skip
        devices.append(device)
    await session.flush()
    return devices


async def clear_demo_devices(session: AsyncSession, *, org_id: int) -> int:
    """Delete every demo device of the organisation (their samples, apps and patches cascade)."""
    result = await session.execute(delete(Device).where(Device.org_id == org_id, Device.is_demo.is_(True)))
    return int(result.rowcount)  # type: ignore[attr-defined]
