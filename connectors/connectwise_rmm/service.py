"""Connecting, disconnecting and re-discovering an organisation's ConnectWise RMM tenant.

Business rules (services flush, the boundary commits):

* **Connect** authenticates first. If ConnectWise refuses a *scope*, it retries once with the seed's
  minimal scope set and records what was granted. A failed connect stores nothing (an admin's typo must
  not replace a working connection, nor leave a wrong key at rest): the answer carries ConnectWise's
  exact reason, and the attempt is audited. On success the API key is stored encrypted, the tenant's
  scripts are discovered, and after commit the tools are registered.
* A stored connection turns to ``error`` (with the exact reason) when scheduled discovery is refused
  (key revoked, locked); its tools stay, and each call explains the upstream failure.
* **Disconnect** fails every pending approval of the connection's tools, forgets the key and the
  scripts, and unregisters the tools after commit.

Every change is audited as ``integration.changed``, never with the API key.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import SecretStr
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.errors import AuthenticationError, ConnectWiseError, KeyLockedError, rest_status
from connectors.connectwise_rmm.client.regions import DEFAULT_REGION, Region
from connectors.connectwise_rmm.client.schemas import ShellScript
from connectors.connectwise_rmm.client.scopes import DEFAULT_SCOPES, MINIMAL_SCOPES, scope_refused
from connectors.connectwise_rmm.discovery import DiscoveryReport, apply_discovery, persisted_scripts
from connectors.connectwise_rmm.integration import (
    ConnectionOut,
    ConnectResult,
    DisconnectResult,
    DiscoveryResult,
)
from connectors.connectwise_rmm.manager import ConnectionManager
from connectors.connectwise_rmm.models import ConnectionStatus, CWConnection, CWScript
from connectors.connectwise_rmm.script_tools import SCRIPT_PREFIX, SOURCE
from connectors.connectwise_rmm.tools import STATIC_TOOL_NAMES
from hub.core.audit import SYSTEM_ACTOR, Actor
from hub.core.caller import Caller
from hub.core.changes import record_change, require_admin
from hub.core.context import HubContext
from hub.core.db import utcnow
from hub.core.errors import NotFound, RmmHubError
from hub.core.org_jobs import for_each_org
from hub.core.registry import Tool
from hub.core.uow import after_commit, publish_after_commit
from policies.approvals import fail_pending_for_tool
from policies.models import Approval, ApprovalStatus

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_REGION",
    "SOURCE",
    "Region",
    "connect",
    "connection_tools",
    "disconnect",
    "manager_of",
    "missing_default_scopes",
    "rediscover",
    "status",
]


def manager_of(hub: HubContext) -> ConnectionManager:
    """The running hub's ConnectWise connection manager (what every service function here takes)."""
    return hub.components.get(ConnectionManager)


def connection_tools(manager: ConnectionManager, org_id: int) -> tuple[list[Tool], list[Tool]]:
    """The organisation's ConnectWise tools: the static ones, then one per discovered script."""
    tools = manager.tools_of(org_id)
    return (
        [t for t in tools if not t.name.startswith(SCRIPT_PREFIX)],
        [t for t in tools if t.name.startswith(SCRIPT_PREFIX)],
    )


def missing_default_scopes(connection: ConnectionOut) -> list[str]:
    """The default API scopes a connected key was not granted (empty before a connection)."""
    return [s for s in DEFAULT_SCOPES if connection.scopes and s not in connection.scopes]


async def get_connection(session: AsyncSession, org_id: int) -> CWConnection | None:
    """The organisation's connection row (any status), if it ever connected."""
    stmt = select(CWConnection).where(CWConnection.org_id == org_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def _require_admin(caller: Caller) -> None:
    require_admin(caller, "only admins can change the ConnectWise RMM connection")


def _audit(session: AsyncSession, actor: Actor, org_id: int, outcome: str, detail: dict[str, Any]) -> None:
    record_change(session, actor=actor, org_id=org_id, outcome=outcome, detail={"integration": SOURCE, **detail})


async def authenticate(
    manager: ConnectionManager, *, client_id: str, client_secret: SecretStr, region: Region, base_url: str | None
) -> tuple[ConnectWiseClient, list[str]]:
    """Mint a token (full scopes, then once the minimal set if a scope was refused); returns client and scopes.

    Raises:
        ConnectWiseError: ConnectWise refused the credentials (the message is its exact reason).
    """
    last: ConnectWiseError | None = None
    for scopes in (DEFAULT_SCOPES, MINIMAL_SCOPES):
        client = manager.build_client(
            client_id=client_id, client_secret=client_secret, region=region, base_url=base_url, scopes=scopes
        )
        try:
            token = await client.authenticate()
        except AuthenticationError as exc:
            await client.aclose()
            last = exc
            if not scope_refused(exc):
                raise
            log.info("ConnectWise refused a scope for client %s; retrying with the minimal scope set", client_id)
            continue
        except BaseException:
            await client.aclose()
            raise
        granted = (token.scope or "").split() or list(scopes)
        return client, granted
    assert last is not None
    raise last


async def connect(
    session: AsyncSession,
    manager: ConnectionManager,
    *,
    caller: Caller,
    client_id: str,
    client_secret: SecretStr,
    region: Region,
    base_url: str | None = None,
) -> ConnectResult:
    """Authenticate, store (encrypted), discover scripts, and register the tools after commit."""
    _require_admin(caller)
    client_id = client_id.strip()
    base_url = (base_url or manager.settings.base_url or "").strip() or None
    existing = await get_connection(session, caller.org_id)
    try:
        client, scopes = await authenticate(
            manager, client_id=client_id, client_secret=client_secret, region=region, base_url=base_url
        )
    except ConnectWiseError as exc:
        kept = existing is not None and existing.status is not ConnectionStatus.DISCONNECTED
        message = str(exc) + (". The existing connection was kept unchanged" if kept else "")
        _audit(
            session,
            caller.actor,
            caller.org_id,
            "failed",
            {"action": "connect", "client_id": client_id, "region": region.value, "error": str(exc)},
        )
        # Refused credentials are the request's fault (400); a lock, an outage or a time-out is not.
        http_status, retry_after = (400, None) if isinstance(exc, AuthenticationError) else rest_status(exc)
        return ConnectResult(status="error", message=message, http_status=http_status, retry_after=retry_after)

    listing: list[ShellScript] | None = None
    discovery_error: str | None = None
    try:
        listing = await client.list_shell_scripts()
    except ConnectWiseError as exc:
        discovery_error = f"script discovery failed: {exc}"

    now = utcnow()
    connection = existing
    if connection is None:
        connection = CWConnection(
            org_id=caller.org_id,
            client_id=client_id,
            region=region.value,
            status=ConnectionStatus.CONNECTED,
            credentials_version=0,
            created_by_user_id=caller.user_id,
            created_by_label=caller.label,
            created_at=now,
        )
        session.add(connection)
        await session.flush()
    elif (connection.client_id, connection.region, connection.base_url) != (client_id, region.value, base_url):
        await apply_discovery(
            session,
            connection=connection,
            scripts=[],
            gate=manager.gate,
            reason="ConnectWise RMM was reconnected to a different tenant",
        )
    connection.client_id, connection.region, connection.base_url = client_id, region.value, base_url
    connection.client_secret_encrypted = manager.box.encrypt(client_secret.get_secret_value())
    connection.scopes = scopes
    connection.status = ConnectionStatus.CONNECTED
    connection.last_error = discovery_error
    connection.credentials_version += 1
    connection.connected_at = connection.updated_at = now
    report = (
        await apply_discovery(session, connection=connection, scripts=listing, gate=manager.gate)
        if listing is not None
        else None
    )
    scripts = len(await persisted_scripts(session, connection.id))
    tools = len(STATIC_TOOL_NAMES) + scripts
    _audit(
        session,
        caller.actor,
        caller.org_id,
        "connected",
        {
            "action": "connect",
            "client_id": client_id,
            "region": region.value,
            "scopes": scopes,
            "tools_registered": tools,
            "discovery": report.counts() if report else {"error": discovery_error},
        },
    )
    _after_commit_reload(session, manager, caller.org_id, adopt=(connection.id, connection.credentials_version, client))
    message = (
        f"Connected to ConnectWise RMM ({region.value.upper()}): {tools} tools registered "
        f"({len(STATIC_TOOL_NAMES)} static, {scripts} scripts)"
    )
    if not set(DEFAULT_SCOPES) <= set(scopes):
        message += f". Scopes not granted to this key: {', '.join(s for s in DEFAULT_SCOPES if s not in scopes)}"
    if discovery_error:
        message += f". Warning: {discovery_error}"
    return ConnectResult(
        status="connected",
        message=message,
        tools_registered=tools,
        scopes=scopes,
        discovery=report.counts() if report else None,
    )


def _after_commit_reload(
    session: AsyncSession,
    manager: ConnectionManager,
    org_id: int,
    *,
    adopt: tuple[int, int, ConnectWiseClient] | None = None,
) -> None:
    async def _apply() -> None:
        if adopt is not None:
            await manager.adopt(org_id, *adopt)
        await manager.reload_org(org_id)

    after_commit(session, _apply)
    publish_after_commit(session, manager.bus, manager.change_event(org_id))


async def _active(session: AsyncSession, org_id: int) -> CWConnection:
    connection = await get_connection(session, org_id)
    if connection is None or connection.status is ConnectionStatus.DISCONNECTED:
        raise NotFound("ConnectWise RMM is not connected for this organisation")
    return connection


async def disconnect(session: AsyncSession, manager: ConnectionManager, *, caller: Caller) -> DisconnectResult:
    """Forget the key and scripts, fail pending approvals of the connection's tools, unregister them."""
    _require_admin(caller)
    connection = await _active(session, caller.org_id)
    scripts = await persisted_scripts(session, connection.id)
    why = (
        f"ConnectWise RMM was disconnected by {caller.label}, so this tool no longer exists; nothing was run. "
        "Reconnect it under Integrations > ConnectWise RMM and ask again"
    )
    pending = (
        select(Approval.tool_id)
        .distinct()
        .where(
            Approval.org_id == caller.org_id,
            Approval.status == ApprovalStatus.PENDING,
            Approval.tool_id.startswith(f"{SOURCE}:"),
        )
    )
    failed = 0
    for tool_id in list((await session.execute(pending)).scalars()):
        failed += await fail_pending_for_tool(session, manager.gate, org_id=caller.org_id, tool_id=tool_id, why=why)
    await session.execute(delete(CWScript).where(CWScript.connection_id == connection.id))
    connection.client_secret_encrypted = None
    connection.status = ConnectionStatus.DISCONNECTED
    connection.last_error = None
    connection.scopes = []
    connection.credentials_version += 1
    connection.updated_at = utcnow()
    removed = len(STATIC_TOOL_NAMES) + len(scripts)
    _audit(
        session,
        caller.actor,
        caller.org_id,
        "disconnected",
        {
            "action": "disconnect",
            "client_id": connection.client_id,
            "tools_removed": removed,
            "approvals_failed": failed,
        },
    )
    await session.flush()
    _after_commit_reload(session, manager, caller.org_id)
    return DisconnectResult(
        message=f"Disconnected ConnectWise RMM: {removed} tools removed, {failed} pending approvals failed",
        tools_removed=removed,
        approvals_failed=failed,
    )


async def rediscover(
    session: AsyncSession, manager: ConnectionManager, *, org_id: int, actor: Actor
) -> DiscoveryResult:
    """List the tenant's shell scripts now and update the script tools (button, API, schedule)."""
    connection = await _active(session, org_id)
    try:
        client = await manager.ensure_client(connection)
        listing = await client.list_shell_scripts()
    except ConnectWiseError as exc:
        if isinstance(exc, AuthenticationError | KeyLockedError):
            connection.status = ConnectionStatus.ERROR
        connection.last_error = f"script discovery failed: {exc}"
        connection.updated_at = utcnow()
        _audit(session, actor, org_id, "failed", {"action": "rediscover", "error": str(exc)})
        await session.flush()
        _after_commit_reload(session, manager, org_id)
        http_status, retry_after = rest_status(exc)
        return DiscoveryResult(
            status="error", message=connection.last_error, http_status=http_status, retry_after=retry_after
        )
    report: DiscoveryReport = await apply_discovery(session, connection=connection, scripts=listing, gate=manager.gate)
    connection.status, connection.last_error, connection.updated_at = ConnectionStatus.CONNECTED, None, utcnow()
    counts = report.counts()
    _audit(
        session,
        actor,
        org_id,
        "rediscovered",
        {
            "action": "rediscover",
            **counts,
            "added_tools": report.added,
            "removed_tools": report.removed,
            "renamed_tools": [f"{a} -> {b}" for a, b in report.renamed],
        },
    )
    _after_commit_reload(session, manager, org_id)
    return DiscoveryResult(
        status="ok",
        message=(
            f"{counts['scripts']} active scripts: {counts['added']} added, {counts['updated']} updated, "
            f"{counts['removed']} removed"
        ),
        last_discovery_at=connection.last_discovery_at,
        **counts,
    )


async def status(session: AsyncSession, manager: ConnectionManager, org_id: int) -> ConnectionOut:
    """The organisation's connection for the page and ``GET`` (never the API key)."""
    connection = await get_connection(session, org_id)
    if connection is None:
        return ConnectionOut(configured=False, status="not_connected")
    active = connection.status is not ConnectionStatus.DISCONNECTED
    scripts = len(await persisted_scripts(session, connection.id)) if active else 0
    return ConnectionOut(
        configured=True,
        status=connection.status.value,
        client_id=connection.client_id,
        region=Region(connection.region),
        base_url=connection.base_url,
        scopes=list(connection.scopes or []),
        last_error=connection.last_error,
        connected_at=connection.connected_at,
        last_discovery_at=connection.last_discovery_at,
        last_discovery_counts=dict(connection.last_discovery_counts or {}),
        static_tools=len(STATIC_TOOL_NAMES) if active else 0,
        script_tools=scripts,
        created_by=connection.created_by_label or None,
    )


async def discover_all(manager: ConnectionManager) -> dict[int, DiscoveryResult]:
    """Re-discover every stored connection, each in its own unit of work (the scheduled job)."""
    return await for_each_org(
        manager.db,
        select(CWConnection.org_id).where(CWConnection.status != ConnectionStatus.DISCONNECTED),
        lambda session, org_id: rediscover(session, manager, org_id=org_id, actor=SYSTEM_ACTOR),
        errors=(ConnectWiseError, RmmHubError, SQLAlchemyError),
        log=log,
        failure="ConnectWise RMM script discovery failed for org %s",
    )
