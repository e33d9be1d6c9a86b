"""The per-process ConnectionManager: one ConnectWise client per connected organisation, and its tools.

The database is the source of truth (``cw_connections``, ``cw_scripts``); :meth:`ConnectionManager.reload_org`
materialises one organisation's rows into a cached :class:`ConnectWiseClient` (one token shared by every
call of that tenant) and its registry tools -- the static tools and one tool per discovered script.
It runs at start-up for every connection (no network: tokens are minted on first use), after every
commit that changed a connection, and when another replica announces a change on the event bus.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, SecretStr
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.errors import ConnectWiseError
from connectors.connectwise_rmm.client.regions import Region
from connectors.connectwise_rmm.discovery import persisted_scripts, spec_of_row
from connectors.connectwise_rmm.models import ConnectionStatus, CWConnection
from connectors.connectwise_rmm.script_tools import SCRIPT_PREFIX, SOURCE, build_script_tool
from connectors.connectwise_rmm.settings import ConnectWiseSettings
from connectors.connectwise_rmm.tools import static_tools
from hub.core.db import Database
from hub.core.errors import RmmHubError, ToolError
from hub.core.events import Event, EventBus, Topic
from hub.core.registry import Tool, ToolRegistry
from hub.core.security import SecretBox, SecretDecryptionError
from hub.core.tasks import start_task, stop_task
from policies.pipeline import Gate

log = logging.getLogger(__name__)


class ConnectionChanged(BaseModel):
    """An organisation's connection changed on the replica ``origin``: the others reload it."""

    origin: str


CONNECTION_CHANGED = Topic("integration.connectwise_rmm.changed", ConnectionChanged)
NOT_CONNECTED = (
    "ConnectWise RMM is not connected for this organisation; an admin connects it under Integrations > ConnectWise RMM"
)


class ClientFactory(Protocol):
    """Builds a client for one connection (tests inject one wired to a mock transport)."""

    def __call__(
        self, *, client_id: str, client_secret: SecretStr, region: Region, base_url: str | None, scopes: Sequence[str]
    ) -> ConnectWiseClient: ...


@dataclass
class _OrgState:
    connection_id: int
    version: int
    client: ConnectWiseClient | None
    scopes: tuple[str, ...]
    problem: str | None = None


class ConnectionManager:
    """Holds the live clients and tools of every organisation's ConnectWise RMM connection.

    Args:
        db: The hub database (rows are re-read on reload).
        registry: Where the tools go.
        bus: Announces changes to other replicas and hears theirs.
        gate: Used to fail pending approvals of tools that disappear.
        secret_key: The hub secret key; stored API keys are decrypted with a key derived from it.
        settings: Connector settings (discovery interval, script wait bounds, base URL override).
        client_factory: Builds clients; defaults to :meth:`default_client_factory`.
    """

    def __init__(
        self,
        *,
        db: Database,
        registry: ToolRegistry,
        bus: EventBus,
        gate: Gate,
        secret_key: str,
        settings: ConnectWiseSettings | None = None,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.bus = bus
        self.gate = gate
        self.box = SecretBox(secret_key)
        self.settings = settings or ConnectWiseSettings()
        self.client_factory: ClientFactory = client_factory or self.default_client_factory
        #: Optional transport for the default factory (a test's respx router, a loopback fake).
        self.transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None
        #: Extra keyword arguments for the default factory (``sleep``, ``clock``, ``retry``, ...).
        self.client_options: dict[str, Any] = {}
        self.instance_id = uuid.uuid4().hex
        self._orgs: dict[int, _OrgState] = {}
        self._lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None

    def default_client_factory(
        self, *, client_id: str, client_secret: SecretStr, region: Region, base_url: str | None, scopes: Sequence[str]
    ) -> ConnectWiseClient:
        """A client honouring ``SSL_CERT_FILE`` and proxy variables (``trust_env`` stays on)."""
        transport = self.transport_factory() if self.transport_factory is not None else None
        return ConnectWiseClient(
            client_id=client_id,
            client_secret=client_secret,
            region=region,
            base_url=base_url,
            scopes=scopes,
            transport=transport,
            **self.client_options,
        )

    # -- clients -----------------------------------------------------------------------------------

    def build_client(
        self, *, client_id: str, client_secret: SecretStr, region: Region, base_url: str | None, scopes: Sequence[str]
    ) -> ConnectWiseClient:
        """A new client for these credentials (not cached until :meth:`adopt`)."""
        return self.client_factory(
            client_id=client_id, client_secret=client_secret, region=region, base_url=base_url, scopes=scopes
        )

    async def adopt(self, org_id: int, connection_id: int, version: int, client: ConnectWiseClient) -> None:
        """Cache a client that just authenticated, so its token is reused rather than minted again."""
        async with self._lock:
            old = self._orgs.get(org_id)
            if old is not None and old.client is not None and old.client is not client:
                await old.client.aclose()
            scopes = old.scopes if old is not None else ()
            self._orgs[org_id] = _OrgState(connection_id, version, client, scopes)

    def client_for(self, org_id: int) -> ConnectWiseClient:
        """The organisation's client; raises a :class:`ToolError` telling what to do when there is none."""
        state = self._orgs.get(org_id)
        if state is None:
            raise ToolError(NOT_CONNECTED)
        if state.client is None:
            raise ToolError(state.problem or NOT_CONNECTED)
        return state.client

    def granted_scopes(self, org_id: int) -> tuple[str, ...]:
        """The scopes the organisation's connection was granted (empty when unknown)."""
        state = self._orgs.get(org_id)
        return state.scopes if state is not None else ()

    async def ensure_client(self, connection: CWConnection) -> ConnectWiseClient:
        """The cached client of ``connection``, built from the stored credentials when missing or stale."""
        async with self._lock:
            state = self._orgs.get(connection.org_id)
            if (
                state is not None
                and state.client is not None
                and (state.connection_id, state.version) == (connection.id, connection.credentials_version)
            ):
                return state.client
            client = self._client_from_row(connection)
            if state is not None and state.client is not None:
                await state.client.aclose()
            self._orgs[connection.org_id] = _OrgState(
                connection.id, connection.credentials_version, client, tuple(connection.scopes or ())
            )
            return client

    def _client_from_row(self, connection: CWConnection) -> ConnectWiseClient:
        if connection.client_secret_encrypted is None:
            raise ToolError(NOT_CONNECTED)
        try:
            secret = self.box.decrypt(connection.client_secret_encrypted)
        except SecretDecryptionError as exc:
            raise ToolError(f"ConnectWise RMM: {exc}; reconnect it under Integrations > ConnectWise RMM") from exc
        return self.build_client(
            client_id=connection.client_id,
            client_secret=SecretStr(secret),
            region=Region(connection.region),
            base_url=connection.base_url,
            scopes=tuple(connection.scopes or ()),
        )

    # -- registry ----------------------------------------------------------------------------------

    async def load_all(self) -> int:
        """Register the tools of every stored connection (start-up; no network). Returns how many orgs."""
        async with self.db.sessionmaker() as session:
            stmt = select(CWConnection.org_id).where(CWConnection.status != ConnectionStatus.DISCONNECTED)
            org_ids = list((await session.execute(stmt)).scalars())
        for org_id in org_ids:
            await self.reload_org(org_id)
        return len(org_ids)

    async def reload_org(self, org_id: int) -> int:
        """Make the client and tools of ``org_id`` match the database; returns the number of tools."""
        async with self._lock:
            async with self.db.sessionmaker() as session:
                connection = (
                    await session.execute(select(CWConnection).where(CWConnection.org_id == org_id))
                ).scalar_one_or_none()
                active = connection is not None and connection.status is not ConnectionStatus.DISCONNECTED
                rows = await persisted_scripts(session, connection.id) if connection is not None and active else []
            if connection is None or not active:
                await self._drop(org_id)
                return 0
            state = self._orgs.get(org_id)
            if state is None or (state.connection_id, state.version) != (connection.id, connection.credentials_version):
                if state is not None and state.client is not None:
                    await state.client.aclose()
                try:
                    client: ConnectWiseClient | None = self._client_from_row(connection)
                    problem = None
                except ToolError as exc:
                    client, problem = None, exc.message
                state = _OrgState(connection.id, connection.credentials_version, client, (), problem)
                self._orgs[org_id] = state
            state.scopes = tuple(connection.scopes or ())
            statics = static_tools(self, org_id)
            present = {t.id for t in self.registry.visible(org_id) if t.org_id == org_id}
            for tool in statics:
                if tool.id not in present:
                    self.registry.register(tool)
            scripts = [build_script_tool(spec_of_row(row), org_id=org_id, manager=self) for row in rows]
            self.registry.sync_scope(source=SOURCE, org_id=org_id, prefix=SCRIPT_PREFIX, tools=scripts)
            return len(statics) + len(scripts)

    async def _drop(self, org_id: int) -> None:
        self.registry.remove_scope(source=SOURCE, org_id=org_id)
        state = self._orgs.pop(org_id, None)
        if state is not None and state.client is not None:
            await state.client.aclose()

    def tools_of(self, org_id: int) -> list[Tool]:
        """Every ConnectWise tool registered for ``org_id`` (static and scripts), sorted by name."""
        return [t for t in self.registry.visible(org_id) if t.source == SOURCE and t.org_id == org_id]

    # -- replicas ----------------------------------------------------------------------------------

    def change_event(self, org_id: int) -> Event:
        """The bus event telling other replicas to reload ``org_id``."""
        return CONNECTION_CHANGED.event(org_id, ConnectionChanged(origin=self.instance_id))

    async def listen(self) -> None:
        """Start reloading organisations when another replica announces a change."""

        async def _run() -> None:
            async with self.bus.subscribe(CONNECTION_CHANGED.name) as events:
                async for event in events:
                    changed = CONNECTION_CHANGED.parse(event)
                    if event.org_id is None or changed is None or changed.origin == self.instance_id:
                        continue
                    try:
                        await self.reload_org(event.org_id)
                    except (SQLAlchemyError, SecretDecryptionError, ConnectWiseError, RmmHubError):
                        log.exception("reloading the ConnectWise RMM connection of org %s failed", event.org_id)

        self._listener = start_task(_run(), name="cw-rmm-reload-listener")

    async def close(self) -> None:
        """Stop listening and close every client."""
        await stop_task(self._listener)
        self._listener = None
        for state in list(self._orgs.values()):
            if state.client is not None:
                await state.client.aclose()
        self._orgs.clear()
