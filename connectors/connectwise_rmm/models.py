"""Tables of the ConnectWise RMM connector: one connection per organisation and its discovered scripts.

The API key (``client_secret``) is stored only encrypted (:class:`hub.core.security.SecretBox`), is
never part of a repr, and is wiped when the connection is disconnected.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class ConnectionStatus(StrEnum):
    """State of an organisation's ConnectWise RMM connection."""

    CONNECTED = "connected"
    ERROR = "error"
    DISCONNECTED = "disconnected"


class CWConnection(Base):
    """An organisation's ConnectWise RMM (Asio) tenant: credentials, region, granted scopes, health.

    Attributes:
        client_id: the Asio Client ID (not secret; shown on the page).
        client_secret_encrypted: the API key, encrypted with the hub secret key; ``None`` once disconnected.
        region: ``au``, ``na`` or ``eu``.
        base_url: an API host override (gateway or test server); ``None`` uses the region's host.
        scopes: the scopes the token was minted with (what the key was granted).
        status: connected, error (``last_error`` says why) or disconnected.
        credentials_version: bumped on every (re)connect so cached clients are rebuilt.
        last_discovery_counts: ``{"scripts", "added", "updated", "removed"}`` of the last discovery.
    """

    __tablename__ = "cw_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), unique=True)
    client_id: Mapped[str] = mapped_column(String(200))
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    region: Mapped[str] = mapped_column(String(8))
    base_url: Mapped[str | None] = mapped_column(String(500), default=None)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[ConnectionStatus] = mapped_column(
        Enum(ConnectionStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    credentials_version: Mapped[int] = mapped_column(Integer, default=1)
    connected_at: Mapped[datetime | None] = mapped_column(default=None)
    last_discovery_at: Mapped[datetime | None] = mapped_column(default=None)
    last_discovery_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"CWConnection(id={self.id!r}, org_id={self.org_id!r}, client_id={self.client_id!r}, status={self.status!r})"


class CWScript(Base):
    """A shell script discovered in a tenant, registered as the tool ``cw-rmm-script-<slug>``.

    The slug is assigned once and kept while the name stays the same, so tool names (and their policies)
    survive restarts; ``name`` and ``schema_hash`` tell discovery what was renamed or changed.
    """

    __tablename__ = "cw_scripts"
    __table_args__ = (
        UniqueConstraint("connection_id", "template_id", name="uq_cw_scripts_connection_template"),
        UniqueConstraint("connection_id", "slug", name="uq_cw_scripts_connection_slug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("cw_connections.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    parameters_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    schema_note: Mapped[str | None] = mapped_column(Text, default=None)
    expected_execution_time_sec: Mapped[int | None] = mapped_column(Integer, default=None)
    schema_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
