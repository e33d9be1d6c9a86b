"""Metrics and inventory from psutil: CPU, memory, per-partition disks, load, uptime, network rate, NICs and IPs."""

from __future__ import annotations

import ipaddress
import socket
import time
from datetime import UTC, datetime
from typing import Any

import psutil

from agent.collectors.hardware import collect_identity
from agent.collectors.osinfo import os_family, os_name_version
from agent.collectors.users import collect_users
from agent.protocol import (
    MAX_LIST_ITEMS,
    DiskInfo,
    DiskUsage,
    Hardware,
    InventoryDelta,
    MetricsSample,
    NetworkInterface,
    NetworkThroughput,
)

# Pseudo and read-only image file systems that are not "disks" an operator cares about.
_SKIP_FSTYPES = {"squashfs", "tmpfs", "devtmpfs", "overlay", "proc", "sysfs", "cgroup", "cgroup2", "autofs", "iso9660"}
_LINK = getattr(psutil, "AF_LINK", -1)


def prime_cpu_percent() -> None:
    """psutil's first ``cpu_percent(None)`` is meaningless; call once at start-up (it primes the network rate too)."""
    psutil.cpu_percent(interval=None)
    _NET.sample()


class NetRate:
    """Turns ``psutil.net_io_counters()`` readings into bytes per second since the previous reading."""

    def __init__(self) -> None:
        self._last: tuple[float, int, int] | None = None

    def sample(
        self, *, now: float | None = None, sent: int | None = None, recv: int | None = None
    ) -> NetworkThroughput | None:
        """The rate since the previous call; None on the first call, after a counter reset, or without counters."""
        if sent is None or recv is None:
            counters = psutil.net_io_counters()
            if counters is None:  # no interfaces at all
                return None
            sent, recv = counters.bytes_sent, counters.bytes_recv
        at = time.monotonic() if now is None else now
        last, self._last = self._last, (at, sent, recv)
        if last is None or at <= last[0] or sent < last[1] or recv < last[2]:
            return None  # first reading, or the counters wrapped / an interface went away
        seconds = at - last[0]
        return NetworkThroughput(
            sent_bytes_per_s=min((sent - last[1]) / seconds, 1e12),
            recv_bytes_per_s=min((recv - last[2]) / seconds, 1e12),
        )


_NET = NetRate()


def _partitions() -> list[Any]:
    seen: set[str] = set()
    parts = []
    for part in psutil.disk_partitions(all=False):
        if part.fstype.lower() in _SKIP_FSTYPES or part.mountpoint in seen or "cdrom" in part.opts:
            continue
        seen.add(part.mountpoint)
        parts.append(part)
    return parts[:MAX_LIST_ITEMS]


def collect_metrics() -> MetricsSample:
    """One health sample of this machine (CPU since the previous call)."""
    memory = psutil.virtual_memory()
    disks = []
    for part in _partitions():
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:  # unmounted meanwhile, or not readable by this user
            continue
        disks.append(
            DiskUsage(
                mountpoint=part.mountpoint[:255],
                used_percent=min(usage.percent, 100.0),
                used_bytes=usage.used,
                total_bytes=usage.total,
            )
        )
    try:
        load: tuple[float, float, float] | None = psutil.getloadavg()
    except (OSError, AttributeError):
        load = None
    return MetricsSample(
        taken_at=datetime.now(UTC),
        cpu_percent=min(psutil.cpu_percent(interval=None), 100.0),
        memory_percent=min(memory.percent, 100.0),
        memory_used_bytes=memory.total - memory.available,
        memory_total_bytes=memory.total,
        disks=disks,
        load_1=load[0] if load else None,
        load_5=load[1] if load else None,
        load_15=load[2] if load else None,
        uptime_seconds=max(int(time.time() - psutil.boot_time()), 0),
        network=_NET.sample(),
    )


def collect_interfaces() -> list[NetworkInterface]:
    """Network interfaces with MAC and addresses (loopback excluded)."""
    stats = psutil.net_if_stats()
    interfaces = []
    for name, addresses in sorted(psutil.net_if_addrs().items()):
        ipv4 = [a.address for a in addresses if a.family == socket.AF_INET]
        ipv6 = [a.address.split("%")[0] for a in addresses if a.family == socket.AF_INET6]
        if any(ipaddress.ip_address(ip).is_loopback for ip in ipv4 + ipv6) and name.startswith(("lo", "Loopback")):
            continue
        mac = next((a.address for a in addresses if a.family == _LINK), None)
        stat = stats.get(name)
        interfaces.append(
            NetworkInterface(
                name=name[:255],
                mac=mac[:64] if mac else None,
                ipv4=ipv4[:MAX_LIST_ITEMS],
                ipv6=ipv6[:MAX_LIST_ITEMS],
                is_up=bool(stat and stat.isup),
                speed_mbps=stat.speed if stat and stat.speed > 0 else None,
            )
        )
    return interfaces[:MAX_LIST_ITEMS]


def collect_hardware() -> Hardware:
    identity = collect_identity()
    disks = []
    for part in _partitions():
        try:
            total = psutil.disk_usage(part.mountpoint).total
        except OSError:
            continue
        disks.append(
            DiskInfo(
                device=part.device[:255], mountpoint=part.mountpoint[:255], fstype=part.fstype[:255], total_bytes=total
            )
        )
    return Hardware(
        cpu_model=identity.cpu_model,
        cpu_cores=psutil.cpu_count(logical=False),
        cpu_threads=psutil.cpu_count(logical=True),
        ram_bytes=psutil.virtual_memory().total,
        disks=disks,
        manufacturer=identity.manufacturer,
        model=identity.model,
        serial_number=identity.serial_number,
    )


def collect_inventory() -> InventoryDelta:
    """The full inventory (every field set); the caller turns it into a delta."""
    name, version = os_name_version()
    interfaces = collect_interfaces()
    ips = [ip for nic in interfaces if nic.is_up for ip in nic.ipv4 + nic.ipv6]
    return InventoryDelta(
        hostname=socket.gethostname()[:255],
        os_family=os_family(),
        os_name=name[:255],
        os_version=version[:255],
        ip_addresses=ips[:MAX_LIST_ITEMS],
        interfaces=interfaces,
        hardware=collect_hardware(),
        boot_time=datetime.fromtimestamp(psutil.boot_time(), UTC),
        users=collect_users(),
    )


def inventory_delta(current: InventoryDelta, previous: InventoryDelta | None) -> InventoryDelta | None:
    """Fields of ``current`` that differ from ``previous`` (all of them without a previous one)."""
    if previous is None:
        return current
    changed = {
        field: getattr(current, field)
        for field in InventoryDelta.model_fields
        if getattr(current, field) != getattr(previous, field)
    }
    return InventoryDelta(**changed) if changed else None
