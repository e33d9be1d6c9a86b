"""The per-process CheckmkManager: builds a client from a stored connection (decrypting its secret)
and finds the native device directory. The database is the source of truth; no client is cached
(a sync is two requests every few minutes), so replicas never hold stale credentials."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from pydantic import SecretStr

from connectors.checkmk.client import CheckmkClient
from connectors.checkmk.models import CheckmkConnection
from connectors.checkmk.settings import CheckmkSettings
from hub.core.context import Components
from hub.core.db import Database
from hub.core.errors import ToolError
from hub.core.events import EventBus
from hub.core.host_health import DeviceDirectory
from hub.core.security import SecretBox, SecretDecryptionError

NOT_CONNECTED = "Checkmk is not connected for this organisation; an admin connects it under Admin > Checkmk"


class CheckmkManager:
    """What the service functions and tools of the connector share.

    Args:
        db: the hub database (the scheduled sync opens its own units of work).
        bus: the event bus (alert events go out after commit).
        secret_key: the hub secret key; stored secrets are decrypted with a key derived from it.
        components: the hub's components, where ``native_rmm`` puts its :class:`DeviceDirectory`.
        settings: connector settings.
    """

    def __init__(
        self,
        *,
        db: Database,
        bus: EventBus,
        secret_key: str,
        components: Components,
        settings: CheckmkSettings | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.box = SecretBox(secret_key)
        self.components = components
        self.settings = settings or CheckmkSettings()
        #: Optional transport for new clients (a test's loopback server needs none; respx would).
        self.transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None

    def client(self, *, url: str, site: str, username: str, secret: SecretStr) -> CheckmkClient:
        """A new client for these credentials (the caller closes it)."""
        transport = self.transport_factory() if self.transport_factory is not None else None
        return CheckmkClient(
            url=url,
            site=site,
            username=username,
            secret=secret,
            transport=transport,
            timeout=self.settings.timeout_seconds,
        )

    def client_for(self, connection: CheckmkConnection) -> CheckmkClient:
        """A client of a stored connection; a :class:`ToolError` when it has no usable secret."""
        if connection.secret_encrypted is None:
            raise ToolError(NOT_CONNECTED)
        try:
            secret = self.box.decrypt(connection.secret_encrypted)
        except SecretDecryptionError as exc:
            raise ToolError(f"Checkmk: {exc}; connect it again under Admin > Checkmk") from exc
        return self.client(
            url=connection.url, site=connection.site, username=connection.username, secret=SecretStr(secret)
        )

    @property
    def directory(self) -> DeviceDirectory:
        """The native device directory (raises a :class:`ToolError` when native_rmm is not part of this hub)."""
        found = self.components.find(DeviceDirectory)
        if found is None:
            raise ToolError("the native RMM is not running in this hub, so Checkmk hosts cannot be mapped")
        return found
