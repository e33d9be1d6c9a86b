"""Wire models of the connector's own REST API (``/api/v1/integrations/connectwise-rmm``) and CLI.

The API key travels only inwards (:class:`ConnectRequest`, a ``SecretStr``); no answer carries it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.connectwise_rmm.client.regions import DEFAULT_REGION, Region


class ConnectRequest(BaseModel):
    """Body of ``POST /api/v1/integrations/connectwise-rmm``."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1, max_length=200, description="the Asio Client ID")
    client_secret: SecretStr = Field(min_length=1, max_length=1000, description="the Asio API key (shown once)")
    region: Region = Field(default=DEFAULT_REGION, description="au (default), na or eu")


class ConnectResult(BaseModel):
    """Answer of a connect: connected (with the tools registered) or error with ConnectWise's exact reason."""

    status: Literal["connected", "error"]
    message: str
    tools_registered: int = 0
    scopes: list[str] = Field(default_factory=list)
    discovery: dict[str, int] | None = None
    http_status: int = Field(default=200, exclude=True, description="status of the answer (400, 502, 503...)")
    retry_after: int | None = Field(default=None, exclude=True, description="Retry-After seconds of a 503")


class DisconnectResult(BaseModel):
    """Answer of a disconnect."""

    status: Literal["disconnected"] = "disconnected"
    message: str
    tools_removed: int
    approvals_failed: int


class DiscoveryResult(BaseModel):
    """Answer of a rediscover: the counts, or the upstream error that stopped it."""

    status: Literal["ok", "error"]
    message: str
    scripts: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    renamed: int = 0
    failed_approvals: int = 0
    last_discovery_at: datetime | None = None
    http_status: int = Field(default=200, exclude=True, description="status of the answer (502, 503...)")
    retry_after: int | None = Field(default=None, exclude=True, description="Retry-After seconds of a 503")


class ConnectionOut(BaseModel):
    """An organisation's connection as shown on the page and by ``GET`` (never the API key)."""

    configured: bool
    status: Literal["connected", "error", "disconnected", "not_connected"]
    client_id: str | None = None
    region: Region | None = None
    base_url: str | None = None
    scopes: list[str] = Field(default_factory=list)
    last_error: str | None = None
    connected_at: datetime | None = None
    last_discovery_at: datetime | None = None
    last_discovery_counts: dict[str, Any] = Field(default_factory=dict)
    static_tools: int = 0
    script_tools: int = 0
    created_by: str | None = None
