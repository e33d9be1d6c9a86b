"""Wire models of the connector's REST API (``/api/v1/integrations/checkmk``), pages and tools.

The automation secret travels only inwards (:class:`ConnectRequest`, a ``SecretStr``); no answer carries it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.checkmk.models import Health, HostState, MapMode


class ConnectRequest(BaseModel):
    """Body of ``POST /api/v1/integrations/checkmk`` (and the Admin > Checkmk form)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(min_length=1, max_length=500, description="the Checkmk server, e.g. https://monitor.example.com")
    site: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$", description="the site name")
    username: str = Field(min_length=1, max_length=200, pattern=r"^[^\s]+$", description="the automation user")
    secret: SecretStr = Field(min_length=1, max_length=500, description="the automation secret")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1].strip("/")) == 0:
            raise ValueError("give the server as http(s)://host, without the site (e.g. https://monitor.example.com)")
        if any(c.isspace() for c in value) or "?" in value or "#" in value:
            raise ValueError("the URL may not contain spaces, a query or a fragment")
        return value.rstrip("/")

    @field_validator("secret")
    @classmethod
    def _one_line(cls, value: SecretStr) -> SecretStr:
        if any(c.isspace() for c in value.get_secret_value()):
            raise ValueError("the automation secret is one word without spaces")
        return value


class ConnectResult(BaseModel):
    """Answer of a connect: connected (with the first sync's counts) or error with Checkmk's reason."""

    status: Literal["connected", "error"]
    message: str
    checkmk_version: str = ""
    sync: dict[str, int] | None = None
    http_status: int = Field(default=200, exclude=True)


class ConnectionOut(BaseModel):
    """An organisation's connection as shown on the page and by ``GET`` (never the secret)."""

    configured: bool
    status: Literal["connected", "error", "disconnected", "not_connected"]
    url: str | None = None
    site: str | None = None
    username: str | None = None
    checkmk_version: str = ""
    last_error: str | None = None
    connected_at: datetime | None = None
    last_sync_at: datetime | None = None
    last_sync_counts: dict[str, Any] = Field(default_factory=dict)
    created_by: str | None = None


class ServiceCounts(BaseModel):
    """A host's services by state."""

    ok: int = 0
    warn: int = 0
    crit: int = 0
    unknown: int = 0
    pending: int = 0


class HostOut(BaseModel):
    """One synced host (the ``checkmk-list-hosts`` row and the device panel)."""

    name: str
    alias: str = ""
    address: str = ""
    folder: str = ""
    state: HostState
    health: Health
    plugin_output: str = ""
    services: ServiceCounts
    last_check_at: datetime | None = None
    synced_at: datetime
    device_id: int | None = None
    device_label: str | None = None
    map_mode: MapMode


class HostList(BaseModel):
    """Result of ``checkmk-list-hosts``."""

    count: int
    omitted: int = 0
    last_sync_at: datetime | None = None
    hosts: list[HostOut]


class ServiceOut(BaseModel):
    """One monitored service of a host, live from Checkmk."""

    description: str
    state: Literal["OK", "WARN", "CRIT", "UNKNOWN", "PENDING"]
    plugin_output: str = ""
    last_check_at: datetime | None = None


class HostServices(BaseModel):
    """Result of ``checkmk-get-host-services``."""

    host_name: str
    counts: ServiceCounts
    count: int
    omitted: int = 0
    services: list[ServiceOut]


class SyncResult(BaseModel):
    """Result of a sync (``checkmk-sync-hosts``, the button and the schedule)."""

    status: Literal["ok", "error"]
    message: str
    hosts: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    mapped: int = 0
    raised: int = 0
    resolved: int = 0
    last_sync_at: datetime | None = None


class MapResult(BaseModel):
    """Result of ``checkmk-map-host``."""

    host_name: str
    map_mode: MapMode
    device_id: int | None = None
    device_label: str | None = None
    message: str


class DisconnectResult(BaseModel):
    """Answer of a disconnect."""

    status: Literal["disconnected"] = "disconnected"
    message: str
    hosts_removed: int
    alerts_resolved: int
