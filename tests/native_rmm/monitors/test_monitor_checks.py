"""Monitors against real loopback servers: failure streaks raise alerts, recovery resolves them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from monitor_servers import CertificateAuthority, HttpBehaviour, port_of, start_http, start_tls
from sqlalchemy import select, update

from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.roles import Role
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus
from native_rmm.models.monitors import CheckState, Monitor, MonitorKind
from native_rmm.monitors import jobs, service
from native_rmm.monitors.checks import MonitorSpec, Probes, run_check
from native_rmm.monitors.schemas import MonitorIn
from tests.conftest import Tenancy


def admin_of(tenancy: Tenancy) -> Caller:
    return Caller(tenancy.admin.id, "alice", Role.ADMIN, tenancy.org_id, CallerKind.API)


async def create(db: Database, tenancy: Tenancy, **fields: object) -> int:
    async with db.transaction() as session:
        monitor = await service.create_monitor(session, actor=admin_of(tenancy), data=MonitorIn.model_validate(fields))
        return monitor.id


async def make_due(db: Database, monitor_id: int) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Monitor).where(Monitor.id == monitor_id).values(next_run_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def state(db: Database, monitor_id: int) -> tuple[Monitor, list[Alert]]:
    async with db.sessionmaker() as session:
        monitor = await session.get(Monitor, monitor_id)
        assert monitor is not None
        alerts = list((await session.execute(select(Alert).where(Alert.monitor_id == monitor_id))).scalars())
        return monitor, alerts


async def test_http_failures_raise_after_threshold_and_recovery_resolves(
    tenancy: Tenancy, hub: HubContext, db: Database
) -> None:
    behaviour = HttpBehaviour(status=503)
    server = await start_http(behaviour)
    try:
        url = f"http://127.0.0.1:{port_of(server)}/health"
        monitor_id = await create(
            db,
            tenancy,
            name="Portal",
            kind="http",
            target=url,
            failure_threshold=2,
            timeout_seconds=5,
            interval_seconds=60,
        )
        assert await jobs.run_due(hub) == 1
        monitor, alerts = await state(db, monitor_id)
        assert monitor.consecutive_failures == 1 and monitor.last_state is CheckState.CRITICAL and alerts == []
        assert "HTTP 503 (expected 200)" in (monitor.last_message or "")
        assert monitor.next_run_at > datetime.now(UTC) + timedelta(seconds=50)
        assert await jobs.run_due(hub) == 0  # not due again yet

        await make_due(db, monitor_id)
        assert await jobs.run_due(hub) == 1
        monitor, [alert] = await state(db, monitor_id)
        assert monitor.consecutive_failures == 2
        assert (alert.source, alert.severity, alert.status) == (
            AlertSource.MONITOR,
            AlertSeverity.CRITICAL,
            AlertStatus.OPEN,
        )
        assert "Monitor Portal: HTTP 503" in alert.message and alert.device_id is None

        await make_due(db, monitor_id)
        await jobs.run_due(hub)  # still failing: the same alert, updated
        monitor, [same] = await state(db, monitor_id)
        assert same.id == alert.id and monitor.consecutive_failures == 3 and "3 consecutive" in same.message

        behaviour.status = 200
        await make_due(db, monitor_id)
        await jobs.run_due(hub)
        monitor, [recovered] = await state(db, monitor_id)
        assert monitor.consecutive_failures == 0 and monitor.last_state is CheckState.OK
        assert recovered.status is AlertStatus.RESOLVED and recovered.auto_resolved
        assert behaviour.requests == 4
    finally:
        server.close()
        await server.wait_closed()


async def test_http_content_match_and_unreachable(tenancy: Tenancy) -> None:
    server = await start_http(HttpBehaviour(body="status: all systems go"))
    try:
        url = f"http://127.0.0.1:{port_of(server)}/"
        spec = MonitorSpec(1, MonitorKind.HTTP, url, None, 200, "systems go", 5, 14)
        assert (await run_check(spec, Probes())).state is CheckState.OK
        missing = await run_check(MonitorSpec(1, MonitorKind.HTTP, url, None, 200, "maintenance", 5, 14), Probes())
        assert missing.state is CheckState.CRITICAL and "lacks 'maintenance'" in missing.message
        wrong = await run_check(MonitorSpec(1, MonitorKind.HTTP, url, None, 204, None, 5, 14), Probes())
        assert "HTTP 200 (expected 204)" in wrong.message
    finally:
        server.close()
        await server.wait_closed()
    refused = await run_check(MonitorSpec(1, MonitorKind.HTTP, url, None, 200, None, 2, 14), Probes())
    assert refused.state is CheckState.CRITICAL and refused.message.startswith("request failed: ConnectError")


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.mark.parametrize(
    ("days_left", "expected", "text"),
    [
        (90, CheckState.OK, "valid until"),
        (5, CheckState.WARNING, "renew it"),
        (-1, CheckState.CRITICAL, "certificate has expired"),
    ],
)
async def test_tls_validity_and_expiry(
    ca: CertificateAuthority, tmp_path: Path, days_left: int, expected: CheckState, text: str
) -> None:
    now = datetime.now(UTC)
    ctx = ca.server_context(
        str(tmp_path),
        not_before=now - timedelta(days=30),
        not_after=now + timedelta(days=days_left),
        names=["monitor.test", "127.0.0.1"],
    )
    server = await start_tls(ctx)
    try:

        async def to_loopback(host: str) -> str:
            assert host == "monitor.test"
            return "127.0.0.1"

        probes = Probes(ssl_context=ca.client_context(), resolver=to_loopback)
        spec = MonitorSpec(1, MonitorKind.TLS, "monitor.test", port_of(server), 200, None, 5, 14)
        result = await run_check(spec, probes)
        assert result.state is expected, result.message
        assert text in result.message
    finally:
        server.close()
        await server.wait_closed()


async def test_tls_untrusted_and_wrong_name(ca: CertificateAuthority, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    ctx = ca.server_context(
        str(tmp_path), not_before=now - timedelta(days=1), not_after=now + timedelta(days=90), names=["other.test"]
    )
    server = await start_tls(ctx)
    try:
        spec = MonitorSpec(1, MonitorKind.TLS, "127.0.0.1", port_of(server), 200, None, 5, 14)
        wrong_name = await run_check(spec, Probes(ssl_context=ca.client_context()))
        assert wrong_name.state is CheckState.CRITICAL and "certificate not valid" in wrong_name.message
        untrusted = await run_check(spec, Probes(ssl_context=CertificateAuthority().client_context()))
        assert untrusted.state is CheckState.CRITICAL and "certificate not valid" in untrusted.message
    finally:
        server.close()
        await server.wait_closed()


async def test_tls_expiring_soon_raises_a_warning_alert(
    tenancy: Tenancy, hub: HubContext, db: Database, ca: CertificateAuthority, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    ctx = ca.server_context(
        str(tmp_path), not_before=now - timedelta(days=80), not_after=now + timedelta(days=3), names=["127.0.0.1"]
    )
    server = await start_tls(ctx)
    try:
        monitor_id = await create(
            db,
            tenancy,
            name="VPN cert",
            kind="tls",
            target="127.0.0.1",
            port=port_of(server),
            failure_threshold=1,
            tls_warn_days=10,
        )
        await jobs.run_due(hub, probes=Probes(ssl_context=ca.client_context()))
        monitor, [alert] = await state(db, monitor_id)
        assert monitor.last_state is CheckState.WARNING and alert.severity is AlertSeverity.WARNING
        assert "renew it" in alert.message
    finally:
        server.close()
        await server.wait_closed()


async def test_ping_without_binary_and_tcp_fallback(tenancy: Tenancy) -> None:
    server = await start_http(HttpBehaviour())
    open_port = port_of(server)
    try:
        icmp = await run_check(
            MonitorSpec(1, MonitorKind.PING, "127.0.0.1", None, 200, None, 2, 14), Probes(ping_binary=None)
        )
        assert icmp.state is CheckState.CRITICAL and "`ping` binary is not installed" in icmp.message
        assert "set a port" in icmp.message
        tcp = await run_check(MonitorSpec(1, MonitorKind.PING, "127.0.0.1", open_port, 200, None, 2, 14), Probes())
        assert tcp.state is CheckState.OK and tcp.latency_ms is not None
    finally:
        server.close()
        await server.wait_closed()
    closed = await run_check(MonitorSpec(1, MonitorKind.PING, "127.0.0.1", open_port, 200, None, 2, 14), Probes())
    assert closed.state is CheckState.CRITICAL and f"TCP 127.0.0.1:{open_port}" in closed.message
