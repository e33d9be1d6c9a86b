"""Connecting an organisation's Checkmk site, syncing its hosts, mapping them to devices.

Business rules (services flush, the boundary commits):

* **Connect** calls ``GET /version`` with the given credentials first. A refused or failed connect
  stores nothing (a typo must not replace a working connection); the answer carries Checkmk's reason
  and the attempt is audited. On success the secret is stored encrypted and the first sync runs.
* **Sync** reads the configured hosts (``host_config``) and their monitoring state with service counts
  (``host``), upserts one row per host, removes hosts that left the site, maps hosts in ``auto`` mode
  to devices by hostname, and raises or resolves each host's ``checkmk`` alert (critical when the host
  is down or unreachable or a service is CRIT; warning when a service is WARN or UNKNOWN). A sync that
  Checkmk refuses changes no host: the connection turns to ``error`` (401/403) with the reason.
* **Map** pins a host to a device by hand (``manual``), to no device (``unmapped``), or back to ``auto``.
* **Disconnect** resolves the hosts' alerts, forgets the hosts and the secret.

Every change is audited as ``integration.changed``, never with the secret.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Select, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.checkmk.client import CheckmkClient
from connectors.checkmk.errors import AuthenticationError, CheckmkError, ForbiddenError, UpstreamError
from connectors.checkmk.integration import (
    ConnectionOut,
    ConnectResult,
    DisconnectResult,
    HostList,
    HostOut,
    HostServices,
    MapResult,
    ServiceCounts,
    ServiceOut,
    SyncResult,
)
from connectors.checkmk.manager import NOT_CONNECTED, CheckmkManager
from connectors.checkmk.models import CheckmkConnection, CheckmkHost, ConnectionStatus, Health, HostState, MapMode
from connectors.checkmk.schemas import HostConfig, HostStateCode, HostStatus, ServiceStateCode
from hub.core.audit import SYSTEM_ACTOR, Actor
from hub.core.caller import Caller
from hub.core.changes import record_change, require_admin
from hub.core.context import HubContext
from hub.core.db import utcnow
from hub.core.errors import NotFound, RmmHubError, ToolError
from hub.core.host_health import HostHealth
from hub.core.org_jobs import for_each_org

log = logging.getLogger(__name__)
SOURCE = "checkmk"
SERVICE_STATES = {0: "OK", 1: "WARN", 2: "CRIT", 3: "UNKNOWN"}
MAX_SERVICES = 500
INSERT_CHUNK = 500


def manager_of(hub: HubContext) -> CheckmkManager:
    """The running hub's Checkmk manager (what every service function here takes)."""
    return hub.components.get(CheckmkManager)


def alert_key(host_id: int) -> str:
    """The alert identity of a synced host (stable while the host stays on the site)."""
    return f"checkmk:host:{host_id}"


async def get_connection(session: AsyncSession, org_id: int, *, lock: bool = False) -> CheckmkConnection | None:
    """The organisation's connection row (any status), if it ever connected.

    ``lock`` takes the row for update (PostgreSQL), so a scheduled sync and Sync now of the same site
    run one after the other instead of inserting the same new hosts twice.
    """
    stmt = select(CheckmkConnection).where(CheckmkConnection.org_id == org_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def _active(session: AsyncSession, org_id: int, *, lock: bool = False) -> CheckmkConnection:
    connection = await get_connection(session, org_id, lock=lock)
    if connection is None or connection.status is ConnectionStatus.DISCONNECTED:
        raise ToolError(NOT_CONNECTED)
    return connection


def _require_admin(caller: Caller) -> None:
    require_admin(caller, "only admins can change the Checkmk connection")


def _audit(session: AsyncSession, actor: Actor, org_id: int, outcome: str, detail: dict[str, Any]) -> None:
    record_change(session, actor=actor, org_id=org_id, outcome=outcome, detail={"integration": SOURCE, **detail})


def _when(epoch: int) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch > 0 else None


# -- connect / disconnect ----------------------------------------------------------------------------


async def connect(
    session: AsyncSession,
    manager: CheckmkManager,
    *,
    caller: Caller,
    url: str,
    site: str,
    username: str,
    secret: SecretStr,
) -> ConnectResult:
    """Check the credentials (``GET /version``), store them encrypted, run the first sync."""
    _require_admin(caller)
    existing = await get_connection(session, caller.org_id)
    where = {"action": "connect", "url": url, "site": site, "username": username}
    async with manager.client(url=url, site=site, username=username, secret=secret) as client:
        try:
            version = await client.version()
        except CheckmkError as exc:
            kept = existing is not None and existing.status is not ConnectionStatus.DISCONNECTED
            message = str(exc) + (". The existing connection was kept unchanged" if kept else "")
            _audit(session, caller.actor, caller.org_id, "failed", {**where, "error": str(exc)})
            return ConnectResult(
                status="error", message=message, http_status=502 if isinstance(exc, UpstreamError) else 400
            )
    now = utcnow()
    connection = existing
    if connection is None:
        connection = CheckmkConnection(
            org_id=caller.org_id,
            url=url,
            site=site,
            username=username,
            status=ConnectionStatus.CONNECTED,
            created_by_label=caller.label,
            created_at=now,
        )
        session.add(connection)
        await session.flush()
    elif (connection.url, connection.site) != (url, site):
        await _forget_hosts(session, manager, connection, why="Checkmk was connected to a different site")
    connection.url, connection.site, connection.username = url, site, username
    connection.secret_encrypted = manager.box.encrypt(secret.get_secret_value())
    connection.status, connection.last_error = ConnectionStatus.CONNECTED, None
    connection.checkmk_version = version.checkmk[:100]
    connection.connected_at = connection.updated_at = now
    _audit(session, caller.actor, caller.org_id, "connected", {**where, "checkmk_version": version.checkmk})
    result = await sync(session, manager, org_id=caller.org_id, actor=caller.actor)
    counts = result.model_dump(include={"hosts", "added", "updated", "removed", "mapped", "raised", "resolved"})
    message = f"Connected to Checkmk site {site!r} ({version.checkmk or 'version unknown'}). {result.message}"
    return ConnectResult(status="connected", message=message, checkmk_version=version.checkmk, sync=counts)


async def _forget_hosts(session: AsyncSession, manager: CheckmkManager, connection: CheckmkConnection, why: str) -> int:
    rows = list(
        (await session.execute(select(CheckmkHost).where(CheckmkHost.connection_id == connection.id))).scalars()
    )
    health = [HostHealth(key=alert_key(r.id), severity=None, message=why) for r in rows]
    _, resolved = await manager.directory.report(session, connection.org_id, health) if health else (0, 0)
    await session.execute(delete(CheckmkHost).where(CheckmkHost.connection_id == connection.id))
    return resolved


async def disconnect(session: AsyncSession, manager: CheckmkManager, *, caller: Caller) -> DisconnectResult:
    """Resolve the hosts' alerts, forget the hosts and the secret."""
    _require_admin(caller)
    connection = await get_connection(session, caller.org_id)
    if connection is None or connection.status is ConnectionStatus.DISCONNECTED:
        raise NotFound("Checkmk is not connected for this organisation")
    hosts = len(
        list((await session.execute(select(CheckmkHost.id).where(CheckmkHost.connection_id == connection.id))).all())
    )
    resolved = await _forget_hosts(session, manager, connection, why=f"Checkmk was disconnected by {caller.label}")
    connection.secret_encrypted = None
    connection.status, connection.last_error = ConnectionStatus.DISCONNECTED, None
    connection.updated_at = utcnow()
    _audit(session, caller.actor, caller.org_id, "disconnected", {"action": "disconnect", "hosts_removed": hosts})
    await session.flush()
    return DisconnectResult(
        message=f"Disconnected Checkmk: {hosts} hosts removed, {resolved} alerts resolved",
        hosts_removed=hosts,
        alerts_resolved=resolved,
    )


async def status(session: AsyncSession, org_id: int) -> ConnectionOut:
    """The organisation's connection for the page and ``GET`` (never the secret)."""
    connection = await get_connection(session, org_id)
    if connection is None:
        return ConnectionOut(configured=False, status="not_connected")
    return ConnectionOut(
        configured=True,
        status=connection.status.value,
        url=connection.url,
        site=connection.site,
        username=connection.username,
        checkmk_version=connection.checkmk_version,
        last_error=connection.last_error,
        connected_at=connection.connected_at,
        last_sync_at=connection.last_sync_at,
        last_sync_counts=dict(connection.last_sync_counts or {}),
        created_by=connection.created_by_label or None,
    )


# -- sync --------------------------------------------------------------------------------------------


_HOST_STATES: dict[int, HostState] = {
    HostStateCode.UP: HostState.UP,
    HostStateCode.DOWN: HostState.DOWN,
    HostStateCode.UNREACHABLE: HostState.UNREACHABLE,
}


def _state(status: HostStatus | None) -> HostState:
    """Livestatus' host state; ``pending`` until first checked (or while only configured, not activated)."""
    if status is None or not status.has_been_checked:
        return HostState.PENDING
    # A state outside 0-2 is not documented; treat it as the worst rather than hide it.
    return _HOST_STATES.get(status.state, HostState.DOWN)


def health_of(row: CheckmkHost) -> Health:
    """Critical: host down/unreachable or a CRIT service; warning: a WARN or UNKNOWN service; else ok."""
    if row.state in (HostState.DOWN, HostState.UNREACHABLE) or row.services_crit:
        return Health.CRITICAL
    if row.services_warn or row.services_unknown:
        return Health.WARNING
    return Health.OK


def _alert_message(row: CheckmkHost) -> str:
    if row.state in (HostState.DOWN, HostState.UNREACHABLE):
        head = f"Checkmk host {row.name} is {row.state.value.upper()}"
    else:
        head = f"Checkmk host {row.name}"
    counts = [
        f"{n} {label}"
        for n, label in ((row.services_crit, "CRIT"), (row.services_warn, "WARN"), (row.services_unknown, "UNKNOWN"))
        if n
    ]
    text = head + (f": services {', '.join(counts)}" if counts else "")
    return (text + (f" ({row.plugin_output})" if row.plugin_output else ""))[:4000]


def _apply(row: CheckmkHost, config: HostConfig | None, status: HostStatus | None, now: datetime) -> bool:
    """Copy Checkmk's view onto the row; True when anything the page shows changed."""
    before = (row.alias, row.address, row.folder, row.state, row.services_crit, row.services_warn, row.plugin_output)
    if config is not None:
        row.alias, row.address, row.folder = (
            (config.alias or "")[:255],
            (config.ipaddress or "")[:255],
            config.folder[:500],
        )
    row.state = _state(status)
    row.plugin_output = (status.plugin_output if status else "")[:2000]
    row.services_ok = status.num_services_ok if status else 0
    row.services_warn = status.num_services_warn if status else 0
    row.services_crit = status.num_services_crit if status else 0
    row.services_unknown = status.num_services_unknown if status else 0
    row.services_pending = status.num_services_pending if status else 0
    row.last_check_at = _when(status.last_check) if status else None
    row.health = health_of(row)
    row.synced_at = now
    after = (row.alias, row.address, row.folder, row.state, row.services_crit, row.services_warn, row.plugin_output)
    return before != after


def _names_of(connection_id: int) -> Select[str]:
    return select(CheckmkHost.name).where(CheckmkHost.connection_id == connection_id)


async def _insert_hosts(
    session: AsyncSession, connection: CheckmkConnection, names: Sequence[str], now: datetime
) -> None:
    if not names:
        return
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    rows = [
        {
            "connection_id": connection.id,
            "org_id": connection.org_id,
            "name": name[:255],
            "map_mode": MapMode.AUTO,
            "first_seen_at": now,
            "synced_at": now,
        }
        for name in names
    ]
    for start in range(0, len(rows), INSERT_CHUNK):
        stmt = insert(CheckmkHost).on_conflict_do_nothing(index_elements=["connection_id", "name"])
        await session.execute(stmt, rows[start : start + INSERT_CHUNK])


async def sync(session: AsyncSession, manager: CheckmkManager, *, org_id: int, actor: Actor) -> SyncResult:
    """Pull the site's hosts and states now (button, tool, schedule); see the module docstring."""
    connection = await _active(session, org_id, lock=True)
    try:
        async with manager.client_for(connection) as client:
            configs = await client.list_host_config()
            statuses = await client.list_host_status()
    except CheckmkError as exc:
        if isinstance(exc, AuthenticationError | ForbiddenError):
            connection.status = ConnectionStatus.ERROR
        connection.last_error = f"host sync failed: {exc}"
        connection.updated_at = utcnow()
        _audit(session, actor, org_id, "failed", {"action": "sync", "error": str(exc)})
        await session.flush()
        return SyncResult(status="error", message=connection.last_error, last_sync_at=connection.last_sync_at)
    by_config = {c.name: c for c in configs}
    by_status = {s.name: s for s in statuses}
    names = sorted(set(by_config) | set(by_status))
    existing = set((await session.execute(_names_of(connection.id))).scalars())
    now = utcnow()
    fresh = [n for n in names if n not in existing]
    # New hosts are inserted with ON CONFLICT DO NOTHING: a sync that runs at the same moment (the
    # schedule and Sync now) waits for the other's commit and then skips the hosts it already stored.
    await _insert_hosts(session, connection, fresh, now)
    stmt = (
        select(CheckmkHost).where(CheckmkHost.connection_id == connection.id).execution_options(populate_existing=True)
    )
    rows = {r.name: r for r in (await session.execute(stmt)).scalars()}
    added, updated = len(fresh), 0
    for name in names:
        row = rows.get(name)
        if row is None:
            continue
        changed = _apply(row, by_config.get(name), by_status.get(name), now)
        updated += changed and name not in fresh
    gone = [rows.pop(name) for name in sorted(set(rows) - set(names))]
    directory = manager.directory
    auto = [r for r in rows.values() if r.map_mode is MapMode.AUTO]
    matches = await directory.match_hostnames(session, org_id, [r.name for r in auto])
    mapped = 0
    for row in auto:
        ref = matches.get(row.name.lower())
        row.device_id = ref.id if ref is not None else None
        mapped += ref is not None
    await session.flush()
    health = [
        HostHealth(
            key=alert_key(r.id),
            severity=None if r.health is Health.OK else r.health.value,  # type: ignore[arg-type]
            message=_alert_message(r) if r.health is not Health.OK else f"Checkmk host {r.name} is OK again",
            device_id=r.device_id,
        )
        for r in rows.values()
    ]
    health += [HostHealth(key=alert_key(r.id), severity=None, message=f"host {r.name} left the site") for r in gone]
    raised, resolved = await directory.report(session, org_id, health)
    for row in gone:
        await session.delete(row)
    counts = {
        "hosts": len(rows),
        "added": added,
        "updated": updated,
        "removed": len(gone),
        "mapped": sum(1 for r in rows.values() if r.device_id is not None),
        "raised": raised,
        "resolved": resolved,
    }
    connection.last_sync_at = connection.updated_at = now
    connection.last_sync_counts = counts
    connection.status, connection.last_error = ConnectionStatus.CONNECTED, None
    _audit(session, actor, org_id, "synced", {"action": "sync", **counts})
    await session.flush()
    message = (
        f"{counts['hosts']} hosts: {added} added, {updated} changed, {len(gone)} removed; "
        f"{counts['mapped']} mapped to devices; {raised} alerts raised, {resolved} resolved"
    )
    log.info("Checkmk sync of org %s: %s (%d auto-matched)", org_id, message, mapped)
    return SyncResult(status="ok", message=message, last_sync_at=now, **counts)


async def sync_all(manager: CheckmkManager) -> dict[int, SyncResult]:
    """Sync every connected site, each in its own unit of work (the scheduled job, leader only)."""
    return await for_each_org(
        manager.db,
        select(CheckmkConnection.org_id).where(CheckmkConnection.status != ConnectionStatus.DISCONNECTED),
        lambda session, org_id: sync(session, manager, org_id=org_id, actor=SYSTEM_ACTOR),
        errors=(RmmHubError, SQLAlchemyError),
        log=log,
        failure="Checkmk host sync failed for org %s",
    )


# -- hosts -------------------------------------------------------------------------------------------


def _out(row: CheckmkHost, labels: dict[int, str]) -> HostOut:
    return HostOut(
        name=row.name,
        alias=row.alias,
        address=row.address,
        folder=row.folder,
        state=row.state,
        health=row.health,
        plugin_output=row.plugin_output,
        services=ServiceCounts(
            ok=row.services_ok,
            warn=row.services_warn,
            crit=row.services_crit,
            unknown=row.services_unknown,
            pending=row.services_pending,
        ),
        last_check_at=row.last_check_at,
        synced_at=row.synced_at,
        device_id=row.device_id,
        device_label=labels.get(row.device_id) if row.device_id is not None else None,
        map_mode=row.map_mode,
    )


async def list_hosts(
    session: AsyncSession,
    manager: CheckmkManager,
    *,
    org_id: int,
    health: Sequence[Health] = (),
    mapped: bool | None = None,
    name_contains: str | None = None,
    limit: int = 200,
) -> HostList:
    """The synced hosts (worst first, then by name), filtered; state as of ``last_sync_at``."""
    connection = await _active(session, org_id)
    stmt = select(CheckmkHost).where(CheckmkHost.connection_id == connection.id)
    if health:
        stmt = stmt.where(CheckmkHost.health.in_(list(health)))
    if mapped is not None:
        stmt = stmt.where(CheckmkHost.device_id.is_not(None) if mapped else CheckmkHost.device_id.is_(None))
    if name_contains:
        escaped = name_contains.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(CheckmkHost.name.ilike(f"%{escaped}%", escape="\\"))
    rows = list((await session.execute(stmt)).scalars())
    rank = {Health.CRITICAL: 0, Health.WARNING: 1, Health.OK: 2}
    rows.sort(key=lambda r: (rank[r.health], r.name.lower()))
    shown = rows[:limit]
    ids = [r.device_id for r in shown if r.device_id is not None]
    labels = await manager.directory.labels(session, org_id, ids) if ids else {}
    return HostList(
        count=len(rows),
        omitted=len(rows) - len(shown),
        last_sync_at=connection.last_sync_at,
        hosts=[_out(r, labels) for r in shown],
    )


async def host_for_device(
    session: AsyncSession, manager: CheckmkManager, *, org_id: int, device_id: int
) -> HostOut | None:
    """The host mapped to ``device_id`` (the device page's panel), or None."""
    stmt = (
        select(CheckmkHost)
        .join(CheckmkConnection, CheckmkConnection.id == CheckmkHost.connection_id)
        .where(
            CheckmkHost.org_id == org_id,
            CheckmkHost.device_id == device_id,
            CheckmkConnection.status != ConnectionStatus.DISCONNECTED,
        )
        .order_by(CheckmkHost.id)
        .limit(1)
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        return None
    return _out(row, await manager.directory.labels(session, org_id, [device_id]))


async def _host(session: AsyncSession, connection: CheckmkConnection, host_name: str) -> CheckmkHost:
    stmt = select(CheckmkHost).where(CheckmkHost.connection_id == connection.id, CheckmkHost.name == host_name)
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise ToolError(f"no Checkmk host named {host_name!r} was synced; list them with checkmk-list-hosts")
    return row


async def map_host(
    session: AsyncSession,
    manager: CheckmkManager,
    *,
    org_id: int,
    actor: Actor,
    host_name: str,
    device_id: int | None,
    auto: bool = False,
) -> MapResult:
    """Map ``host_name`` to ``device_id`` (manual), to no device (``device_id`` None), or back to auto."""
    connection = await _active(session, org_id)
    row = await _host(session, connection, host_name)
    directory = manager.directory
    label: str | None = None
    if auto:
        ref = (await directory.match_hostnames(session, org_id, [row.name])).get(row.name.lower())
        row.map_mode, row.device_id = MapMode.AUTO, ref.id if ref else None
        label = ref.label if ref else None
        message = f"{row.name} is mapped by hostname" + (f": {label}" if label else " (no device matches yet)")
    elif device_id is None:
        row.map_mode, row.device_id = MapMode.UNMAPPED, None
        message = f"{row.name} is mapped to no device (automatic mapping leaves it alone)"
    else:
        ref = await directory.get_device(session, org_id, device_id)
        if ref is None:
            raise ToolError(f"there is no device #{device_id} in this organisation; pick one from the device list")
        row.map_mode, row.device_id, label = MapMode.MANUAL, ref.id, ref.label
        message = f"{row.name} is mapped to {label}"
    await session.flush()
    if row.health is not Health.OK:
        # The host's active alert follows it to its new device.
        await directory.report(
            session,
            org_id,
            [HostHealth(alert_key(row.id), row.health.value, _alert_message(row), row.device_id)],  # type: ignore[arg-type]
        )
    _audit(
        session,
        actor,
        org_id,
        "mapped",
        {"action": "map", "host": row.name, "device_id": row.device_id, "map_mode": row.map_mode.value},
    )
    return MapResult(
        host_name=row.name, map_mode=row.map_mode, device_id=row.device_id, device_label=label, message=message
    )


async def host_services(
    session: AsyncSession, manager: CheckmkManager, *, org_id: int, host_name: str, limit: int = MAX_SERVICES
) -> HostServices:
    """The host's services live from Checkmk (worst first), with counts by state."""
    connection = await _active(session, org_id)
    client: CheckmkClient
    async with manager.client_for(connection) as client:
        services = await client.host_services(host_name)
    counts = ServiceCounts()
    rows: list[ServiceOut] = []
    for s in services:
        word = "PENDING" if not s.has_been_checked else SERVICE_STATES.get(s.state, "UNKNOWN")
        setattr(counts, word.lower(), getattr(counts, word.lower()) + 1)
        rows.append(
            ServiceOut(
                description=s.description,
                state=word,  # type: ignore[arg-type]
                plugin_output=s.plugin_output[:2000],
                last_check_at=_when(s.last_check),
            )
        )
    order = {"CRIT": 0, "UNKNOWN": 1, "WARN": 2, "PENDING": 3, "OK": 4}
    rows.sort(key=lambda r: (order[r.state], r.description.lower()))
    return HostServices(
        host_name=host_name, counts=counts, count=len(rows), omitted=max(0, len(rows) - limit), services=rows[:limit]
    )


__all__ = [
    "SOURCE",
    "HostOut",
    "ServiceStateCode",
    "connect",
    "disconnect",
    "host_for_device",
    "host_services",
    "list_hosts",
    "manager_of",
    "map_host",
    "status",
    "sync",
    "sync_all",
]
