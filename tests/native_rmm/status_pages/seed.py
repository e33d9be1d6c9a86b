"""A customer with devices, monitors and alerts for the status-page tests: every internal detail
(hostnames, addresses, users, alert messages, monitor targets) is a marked string the tests look for
on the public page, where none may appear."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from hub.core import tenancy
from hub.core.db import Database, utcnow
from hub.core.models import Site
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus, MetricName
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.models.monitors import CheckState, Monitor, MonitorKind
from tests.native_rmm.conftest import make_device


@dataclass
class Seeded:
    customer_id: int
    shown_device: int
    hidden_device: int
    down_monitor: int
    up_monitor: int
    #: Strings that must never reach the public page.
    secrets: list[str] = field(default_factory=list)


async def seed(db: Database, org_id: int) -> Seeded:
    shown = await make_device(db, org_id, hostname="fin-ws-secret-01")
    hidden = await make_device(db, org_id, hostname="hidden-box-07")
    now = utcnow()
    async with db.transaction() as session:
        customer = await tenancy.create_customer(session, org_id=org_id, name="Contoso Internal Ltd", first_site="HQ")
        site_id = await session.scalar(select(Site.id).where(Site.customer_id == customer.id))
        for device_id, ip in ((shown, "10.23.45.67"), (hidden, "10.99.88.77")):
            device = await session.get(Device, device_id)
            assert device is not None
            device.site_id = site_id
            device.primary_ip = ip
            device.status = DeviceStatus.ONLINE if device_id == shown else DeviceStatus.OFFLINE
            device.assigned_user_name = "Priya Secretuser"
            device.last_user = "jdoe-secret"
        down = Monitor(
            org_id=org_id,
            name="crm-internal-probe",
            kind=MonitorKind.HTTP,
            target="https://crm.internal.example/health",
            last_state=CheckState.CRITICAL,
        )
        up = Monitor(
            org_id=org_id,
            name="mail-internal-probe",
            kind=MonitorKind.PING,
            target="mail.internal.example",
            last_state=CheckState.OK,
        )
        session.add_all([down, up])
        await session.flush()

        def alert(**kw: object) -> Alert:
            base: dict[str, object] = {"org_id": org_id, "last_seen_at": now}
            return Alert(**{**base, **kw})

        session.add_all(
            [
                alert(  # an open outage of the shown monitor
                    source=AlertSource.MONITOR,
                    monitor_id=down.id,
                    severity=AlertSeverity.CRITICAL,
                    status=AlertStatus.OPEN,
                    message="crm-internal-probe: GET https://crm.internal.example/health -> 503",
                    first_seen_at=now - timedelta(minutes=40),
                ),
                alert(  # a resolved CPU incident of the shown device, two days ago
                    source=AlertSource.METRIC,
                    device_id=shown,
                    metric=MetricName.CPU,
                    severity=AlertSeverity.WARNING,
                    status=AlertStatus.RESOLVED,
                    message="CPU 93% on fin-ws-secret-01 (10.23.45.67)",
                    first_seen_at=now - timedelta(days=2, hours=1),
                    resolved_at=now - timedelta(days=2),
                ),
                alert(  # too old for a 7-day page
                    source=AlertSource.METRIC,
                    device_id=shown,
                    metric=MetricName.DISK,
                    severity=AlertSeverity.CRITICAL,
                    status=AlertStatus.RESOLVED,
                    message="Disk 99% on fin-ws-secret-01",
                    first_seen_at=now - timedelta(days=10),
                    resolved_at=now - timedelta(days=10),
                ),
                alert(  # a device that is not on the page
                    source=AlertSource.METRIC,
                    device_id=hidden,
                    metric=MetricName.MEMORY,
                    severity=AlertSeverity.CRITICAL,
                    status=AlertStatus.OPEN,
                    message="Memory 97% on hidden-box-07",
                    first_seen_at=now - timedelta(hours=1),
                ),
            ]
        )
        return Seeded(
            customer_id=customer.id,
            shown_device=shown,
            hidden_device=hidden,
            down_monitor=down.id,
            up_monitor=up.id,
            secrets=[
                "fin-ws-secret",
                "hidden-box",
                "10.23.45.67",
                "10.99.88.77",
                "Priya",
                "jdoe",
                "crm-internal",
                "mail-internal",
                "crm.internal.example",
                "Contoso",
                "HQ",
                "-> 503",  # the probe's answer, raw or escaped (a bare "503" also matches a timestamp's microseconds)
                "&gt; 503",
                "93%",
                "Memory",
            ],
        )
