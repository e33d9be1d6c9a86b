"""``rmmhub bench devices``: server time to render the device list and the device page with a big fleet.

A temporary database (SQLite file, or a fresh database on ``--database-url``'s PostgreSQL server)
is seeded in bulk before the hub starts: ``--devices`` devices (default 10,000) spread over
customers and sites with inventory, applications, patches, some open alerts, and a week of metric
samples per device. Sample density is a stated choice: storing the agents' real one-a-minute rate
for a week would be ~100 M rows for 10,000 devices, so the bench stores one sample an hour for the
week plus one a minute for the last hour (the window the device page's sparklines show): 228
samples per device, 2.28 M rows for 10,000 devices. Rows go in with the driver's executemany
(SQLite) or COPY (PostgreSQL) in chunks; PostgreSQL then gets ``ANALYZE``, as autovacuum would give
a live server its planner statistics.

Then a hub is started on loopback (a subprocess, as ``rmmhub serve`` runs it) and, signed in with
an admin API token, requests ``/rmm?tab=devices`` (first page, a search, a deep page) and
``/rmm/devices/<id>`` for random devices ``--requests`` times each, one at a time over a kept-alive
connection; the time from sending to the full body on loopback is the server's render time. Prints
p50 and p90 per page (target p50 < 150 ms). Bounded by ``--timeout``; loopback only; the hub and
the database are removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import click
import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.bench.server import BENCH_SECRET, BenchError, BenchHub
from hub.bench.stats import ms, percentile
from hub.core.db import Database, create_cli_engine, utcnow
from hub.core.tenancy import create_customer, create_site, unassigned_site
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus, MetricName, metric_key
from native_rmm.models.devices import Device, DeviceStatus, InstalledApplication, PatchRecord
from native_rmm.models.metrics import MetricSample

TARGET_MS = 150.0
CUSTOMERS = 40
SITES_PER_CUSTOMER = 3
CHUNK_DEVICES = 500
GiB = 1024**3
APP_NAMES = [
    ("Google Chrome", "Google LLC"),
    ("Mozilla Firefox", "Mozilla"),
    ("7-Zip", "Igor Pavlov"),
    ("Microsoft Edge", "Microsoft Corporation"),
    ("Microsoft Office 365", "Microsoft Corporation"),
    ("Adobe Acrobat Reader", "Adobe"),
    ("VLC media player", "VideoLAN"),
    ("Zoom", "Zoom Video Communications"),
    ("Slack", "Slack Technologies"),
    ("Notepad++", "Notepad++ Team"),
    ("Git", "The Git Development Community"),
    ("Python 3.12", "Python Software Foundation"),
    ("Visual Studio Code", "Microsoft Corporation"),
    ("Teams", "Microsoft Corporation"),
    ("OneDrive", "Microsoft Corporation"),
    ("Dropbox", "Dropbox, Inc."),
    ("KeePass", "Dominik Reichl"),
    ("WinSCP", "Martin Prikryl"),
    ("PuTTY", "Simon Tatham"),
    ("Wireshark", "The Wireshark developer community"),
    ("OpenVPN", "OpenVPN Inc."),
    ("Java 21", "Oracle"),
    ("Node.js", "OpenJS Foundation"),
    ("Docker Desktop", "Docker Inc."),
    ("Citrix Workspace", "Citrix"),
]
OSES = [
    ("WINDOWS", "Windows 11 Pro", "23H2"),
    ("WINDOWS", "Windows Server 2022", "21H2"),
    ("LINUX", "Ubuntu", "24.04"),
    ("LINUX", "Debian GNU/Linux", "12"),
    ("MACOS", "macOS", "14.5"),
]
PREFIXES = ["LON", "MCR", "BRS", "EDI", "LDS", "CDF", "BHX", "GLA"]
KINDS = ["WS", "LAP", "SRV", "DC", "FS", "PRN"]


@dataclass(frozen=True)
class SeedPlan:
    """How much to seed."""

    devices: int
    week_hours: int
    recent_minutes: int
    apps_per_device: int

    @property
    def samples_per_device(self) -> int:
        return self.week_hours + self.recent_minutes

    def describe(self) -> str:
        return (
            f"{self.devices} devices; samples: 1/hour for {self.week_hours} h + 1/min for the last "
            f"{self.recent_minutes} min = {self.samples_per_device}/device, "
            f"{self.devices * self.samples_per_device:,} rows; {self.apps_per_device} apps/device"
        )


@dataclass
class Timing:
    """Latencies of one page."""

    label: str
    seconds: list[float]

    def line(self) -> str:
        p50 = percentile(self.seconds, 50)
        verdict = "ok" if p50 * 1000 < TARGET_MS else "SLOW"
        return (
            f"{self.label:<34} p50 {ms(p50):>9}   p90 {ms(percentile(self.seconds, 90)):>9}   "
            f"n={len(self.seconds)}   [{verdict}, target < {TARGET_MS:.0f} ms]"
        )


@dataclass
class DevicesReport:
    """What the bench measured."""

    backend: str
    plan: SeedPlan
    seed_seconds: float
    timings: list[Timing]

    def lines(self) -> list[str]:
        return [
            f"backend {self.backend}; seeded {self.plan.describe()} in {self.seed_seconds:.1f} s",
            *(t.line() for t in self.timings),
        ]


def _device_rows(org_id: int, site_ids: list[int], start: int, count: int, now: datetime) -> list[dict[str, Any]]:
    rng = random.Random(start)
    rows = []
    for n in range(start, start + count):
        family, os_name, os_version = OSES[n % len(OSES)]
        roll = rng.random()
        status = (
            DeviceStatus.ONLINE if roll < 0.85 else DeviceStatus.UNRESPONSIVE if roll < 0.9 else DeviceStatus.OFFLINE
        )
        seen = now - timedelta(seconds=rng.randint(0, 50) if status is DeviceStatus.ONLINE else rng.randint(400, 86400))
        ip = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        rows.append(
            {
                "org_id": org_id,
                "site_id": site_ids[n % len(site_ids)],
                "hostname": f"{PREFIXES[n % len(PREFIXES)]}-{KINDS[(n // 8) % len(KINDS)]}-{n:05d}",
                "display_name": "",
                "os_family": family,
                "os_name": os_name,
                "os_version": os_version,
                "primary_ip": ip,
                "ip_addresses": [ip],
                "agent_version": "0.1.0",
                "interfaces": [
                    {
                        "name": "eth0",
                        "mac": f"02:00:00:{(n >> 16) & 255:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}",
                        "ipv4": [ip],
                        "ipv6": [],
                        "is_up": True,
                        "speed_mbps": 1000,
                    }
                ],
                "hardware": {
                    "cpu_model": "Intel(R) Core(TM) i7-1265U",
                    "cpu_cores": 10,
                    "cpu_threads": 12,
                    "ram_bytes": 16 * GiB,
                    "disks": [
                        {"device": "/dev/nvme0n1p2", "mountpoint": "/", "fstype": "ext4", "total_bytes": 512 * GiB}
                    ],
                },
                "checkin_interval_seconds": 60,
                "last_seen_at": seen,
                "inventory_at": seen,
                "boot_time": now - timedelta(days=3),
                "status": status,
                "status_changed_at": seen,
                "last_metrics_at": seen,
                "last_cpu_percent": round(rng.uniform(2, 95), 1),
                "last_memory_percent": round(rng.uniform(20, 90), 1),
                "last_disk_percent": round(rng.uniform(10, 97), 1),
                "is_demo": False,
                "quick_support": False,
                "ws_connected": False,
                "created_at": now - timedelta(days=30),
            }
        )
    return rows


def _sample_times(plan: SeedPlan, now: datetime) -> list[datetime]:
    """One sample an hour for ``week_hours`` (the last of them 30 min before the minute samples), then one a minute."""
    hourly = [now - timedelta(hours=h) for h in range(plan.week_hours, 1, -1)]
    hourly.append(now - timedelta(minutes=plan.recent_minutes + 30))
    recent = [now - timedelta(minutes=m) for m in range(plan.recent_minutes, 0, -1)]
    return [*hourly, *recent]


def _samples(device_ids: list[int], stamps: list[Any], recent: list[bool]) -> Iterator[tuple[Any, ...]]:
    """Sample rows of ``device_ids`` at ``stamps`` (per-disk JSON only on the minute samples, as a string)."""
    rng = random.Random(device_ids[0] if device_ids else 0)
    total = 16 * GiB
    for device_id in device_ids:
        base_cpu, base_mem, disk = rng.uniform(5, 60), rng.uniform(25, 75), int(rng.uniform(10, 90) * 10) / 10
        disks = json.dumps(
            [
                {
                    "mountpoint": "/",
                    "used_percent": disk,
                    "used_bytes": int(512 * GiB * disk / 100),
                    "total_bytes": 512 * GiB,
                }
            ]
        )
        for at, minute in zip(stamps, recent, strict=True):
            cpu = min(100.0, max(0.0, int((base_cpu + (rng.random() - 0.5) * 20) * 10) / 10))
            mem = min(100.0, max(0.0, int((base_mem + (rng.random() - 0.5) * 6) * 10) / 10))
            load = int(cpu * 4) / 100
            yield (
                device_id,
                at,
                cpu,
                mem,
                int(total * mem / 100),
                total,
                disk,
                disks if minute else "[]",
                load,
                load,
                load,
                259200,
            )


SAMPLE_COLUMNS = [
    "device_id",
    "taken_at",
    "cpu_percent",
    "memory_percent",
    "memory_used_bytes",
    "memory_total_bytes",
    "disk_percent",
    "disks",
    "load_1",
    "load_5",
    "load_15",
    "uptime_seconds",
]


SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a (UTC) DateTime on SQLite


async def _insert_samples(conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL; the driver's own executemany on SQLite (no per-row ORM/bind processing)."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql":
        await driver.copy_records_to_table(MetricSample.__tablename__, records=rows, columns=SAMPLE_COLUMNS)
        return
    sql = (
        f"INSERT INTO {MetricSample.__tablename__} ({', '.join(SAMPLE_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(SAMPLE_COLUMNS))})"
    )
    await driver.executemany(sql, rows)


async def seed_fleet(database_url: str, org_id: int, plan: SeedPlan) -> int:
    """Seed customers, sites, devices, apps, patches, alerts and samples; returns the first device id."""
    db = Database(create_cli_engine(database_url), secret_key=BENCH_SECRET)
    now = utcnow()
    try:
        async with db.transaction() as session:
            site_ids = [(await unassigned_site(session, org_id)).id]
            for c in range(CUSTOMERS):
                customer = await create_customer(session, org_id=org_id, name=f"Customer {c:02d} Ltd")
                for s in range(SITES_PER_CUSTOMER):
                    site_ids.append(
                        (await create_site(session, org_id=org_id, customer_id=customer.id, name=f"Site {s + 1}")).id
                    )
        times = _sample_times(plan, now)
        sqlite = db.engine.dialect.name == "sqlite"
        stamps: list[Any] = [t.strftime(SQLITE_TIME) for t in times] if sqlite else times
        recent = [t >= now - timedelta(minutes=plan.recent_minutes + 1) for t in times]
        first_id = 0
        async with db.engine.connect() as conn:
            if sqlite:  # a throw-away bench database: no fsync, a big page cache for the index inserts
                await conn.exec_driver_sql("PRAGMA synchronous=OFF")
                await conn.exec_driver_sql("PRAGMA cache_size=-262144")
            await conn.commit()
            for start in range(0, plan.devices, CHUNK_DEVICES):
                count = min(CHUNK_DEVICES, plan.devices - start)
                await conn.execute(insert(Device), _device_rows(org_id, site_ids, start, count, now))
                ids = list(
                    (
                        await conn.execute(
                            select(Device.id).where(Device.org_id == org_id).order_by(Device.id.desc()).limit(count)
                        )
                    ).scalars()
                )[::-1]
                first_id = first_id or ids[0]
                apps = [
                    {"device_id": d, "name": name, "version": f"{(d + i) % 9 + 1}.{i}", "publisher": pub}
                    for d in ids
                    for i, (name, pub) in enumerate(APP_NAMES[: plan.apps_per_device])
                ]
                if apps:
                    await conn.execute(insert(InstalledApplication), apps)
                patches = [
                    {
                        "device_id": d,
                        "key": f"KB50{k:04d}",
                        "title": f"Cumulative update {k}",
                        "severity": "important",
                        "status": "pending",
                        "first_seen_at": now,
                        "updated_at": now,
                    }
                    for d in ids
                    for k in range(3)
                ]
                await conn.execute(insert(PatchRecord), patches)
                alerts = [
                    {
                        "org_id": org_id,
                        "device_id": d,
                        "source": AlertSource.METRIC,
                        "metric": MetricName.CPU,
                        "severity": AlertSeverity.WARNING,
                        "status": AlertStatus.OPEN,
                        "active_key": metric_key(d, MetricName.CPU),
                        "message": "CPU at 91.0% (at or above the warn threshold of 80%)",
                        "value": 91.0,
                        "first_seen_at": now,
                        "last_seen_at": now,
                    }
                    for d in ids[::50]
                ]
                await conn.execute(insert(Alert), alerts)
                await _insert_samples(conn, list(_samples(ids, stamps, recent)))
                await conn.commit()
            if not sqlite:  # planner statistics, as autovacuum would gather them on a live server
                await conn.exec_driver_sql("ANALYZE")
                await conn.commit()
        return first_id
    finally:
        await db.dispose()


class FleetHub(BenchHub):
    """A bench hub whose database is seeded with the fleet before the server starts."""

    def __init__(self, database_url: str | None, plan: SeedPlan) -> None:
        super().__init__(database_url)
        self.plan = plan
        self.seed_seconds = 0.0
        self.first_device_id = 0

    async def _start(self) -> None:
        assert self.creds is not None
        t0 = time.monotonic()
        self.first_device_id = await seed_fleet(self.database_url, self.creds.org_id, self.plan)
        self.seed_seconds = time.monotonic() - t0
        await super()._start()


async def _time(client: httpx.AsyncClient, label: str, urls: list[str]) -> Timing:
    for url in urls[:3]:  # warm-up: templates compiled, connections pooled, caches filled
        warm = await client.get(url)
        if warm.status_code != 200:
            raise BenchError(f"{url} answered {warm.status_code}: {warm.text[:300]}")
    seconds = []
    for url in urls:
        t0 = time.perf_counter()
        response = await client.get(url)
        body = response.content
        seconds.append(time.perf_counter() - t0)
        if response.status_code != 200 or not body:
            raise BenchError(f"{url} answered {response.status_code}: {response.text[:300]}")
    return Timing(label, seconds)


async def run_devices_bench(*, plan: SeedPlan, requests: int, database_url: str | None) -> DevicesReport:
    """Seed, start the hub, measure the pages; the hub and its database are removed afterwards."""
    hub = FleetHub(database_url, plan)
    async with hub:
        assert hub.creds is not None
        headers = {"Authorization": f"Bearer {hub.creds.admin_token}", "Accept": "text/html"}
        rng = random.Random(7)
        ids = [hub.first_device_id + rng.randrange(plan.devices) for _ in range(requests)]
        deep = max(0, (plan.devices // 2) // 50 * 50)
        async with httpx.AsyncClient(base_url=hub.url, headers=headers, timeout=30) as client:
            try:
                timings = await _measure(client, plan, requests, ids, deep)
            except BenchError as exc:
                raise BenchError(f"{exc}\nhub log:\n{hub.log_tail()}") from exc
        return DevicesReport(hub.backend, plan, hub.seed_seconds, timings)


async def _measure(client: httpx.AsyncClient, plan: SeedPlan, requests: int, ids: list[int], deep: int) -> list[Timing]:
    return [
        await _time(client, "device list /rmm?tab=devices", ["/rmm?tab=devices"] * requests),
        await _time(client, "device list, search 'srv-0'", ["/rmm?tab=devices&q=srv-0"] * requests),
        await _time(client, f"device list, page at offset {deep}", [f"/rmm?tab=devices&offset={deep}"] * requests),
        await _time(client, "device page /rmm/devices/<id>", [f"/rmm/devices/{i}" for i in ids]),
        await _time(client, "device metrics JSON (sparklines)", [f"/rmm/devices/{i}/metrics" for i in ids]),
    ]


@click.command("devices")
@click.option("--devices", "count", default=10_000, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--week-hours",
    default=168,
    show_default=True,
    type=click.IntRange(2, 24 * 31),
    help="hourly samples per device before the last hour",
)
@click.option(
    "--recent-minutes",
    default=60,
    show_default=True,
    type=click.IntRange(1, 240),
    help="one-a-minute samples per device at the end (the sparkline window)",
)
@click.option("--apps", default=25, show_default=True, type=click.IntRange(0, len(APP_NAMES)))
@click.option("--requests", default=50, show_default=True, type=click.IntRange(3, 1000))
@click.option("--timeout", "timeout_s", default=900.0, show_default=True, type=click.FloatRange(10, 7200))
@click.option("--database-url", default=None, help="PostgreSQL server URL (a temporary database is created on it)")
def devices(
    count: int,
    week_hours: int,
    recent_minutes: int,
    apps: int,
    requests: int,
    timeout_s: float,
    database_url: str | None,
) -> None:
    """Server time to render the device list and device pages with a seeded fleet (p50 target < 150 ms)."""
    plan = SeedPlan(devices=count, week_hours=week_hours, recent_minutes=recent_minutes, apps_per_device=apps)
    click.echo(f"seeding {plan.describe()} ...")

    async def bounded() -> DevicesReport:
        async with asyncio.timeout(timeout_s):
            return await run_devices_bench(plan=plan, requests=requests, database_url=database_url)

    try:
        report = asyncio.run(bounded())
    except TimeoutError as exc:
        raise click.ClickException(f"the bench did not finish within {timeout_s:.0f} s") from exc
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines():
        click.echo(line)
