"""Tables of the Checkmk connector: one site connection per organisation and its synced hosts.

The automation secret is stored only encrypted (:class:`hub.core.security.SecretBox`, as the
ConnectWise API key), is never part of a repr, and is wiped on disconnect.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


def _enum(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class ConnectionStatus(StrEnum):
    """State of an organisation's Checkmk connection."""

    CONNECTED = "connected"
    ERROR = "error"
    DISCONNECTED = "disconnected"


class HostState(StrEnum):
    """A host's monitoring state (Livestatus ``state``; ``pending`` until first checked or activated)."""

    UP = "up"
    DOWN = "down"
    UNREACHABLE = "unreachable"
    PENDING = "pending"


class Health(StrEnum):
    """A host's overall health: its own state and its services' worst state."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


class MapMode(StrEnum):
    """How a host got its device: ``auto`` (by hostname, re-checked each sync), ``manual`` (chosen by
    hand, kept), ``unmapped`` (an admin said "no device": auto-mapping leaves it alone)."""

    AUTO = "auto"
    MANUAL = "manual"
    UNMAPPED = "unmapped"


class CheckmkConnection(Base):
    """An organisation's Checkmk site.

    Attributes:
        url: the server (``https://monitor.example.com``), without the site.
        site: the site name (the API lives at ``<url>/<site>/check_mk/api/1.0``).
        username: the automation user.
        secret_encrypted: its secret, encrypted with the hub secret key; ``None`` once disconnected.
        status: connected, error (``last_error`` says why) or disconnected.
        checkmk_version: what ``GET /version`` said at connect.
        last_sync_counts: ``{"hosts", "added", "updated", "removed", "mapped", "raised", "resolved"}``.
    """

    __tablename__ = "checkmk_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    site: Mapped[str] = mapped_column(String(100))
    username: Mapped[str] = mapped_column(String(200))
    secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[ConnectionStatus] = mapped_column(_enum(ConnectionStatus))
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    checkmk_version: Mapped[str] = mapped_column(String(100), default="")
    connected_at: Mapped[datetime | None] = mapped_column(default=None)
    last_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    last_sync_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"CheckmkConnection(id={self.id!r}, org_id={self.org_id!r}, site={self.site!r}, status={self.status!r})"


class CheckmkHost(Base):
    """A host of the site as of the last sync, and the native device it is mapped to."""

    __tablename__ = "checkmk_hosts"
    __table_args__ = (
        UniqueConstraint("connection_id", "name", name="uq_checkmk_hosts_connection_name"),
        Index("ix_checkmk_hosts_org_device", "org_id", "device_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("checkmk_connections.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    alias: Mapped[str] = mapped_column(String(255), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    folder: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[HostState] = mapped_column(_enum(HostState), default=HostState.PENDING)
    health: Mapped[Health] = mapped_column(_enum(Health), default=Health.OK)
    plugin_output: Mapped[str] = mapped_column(Text, default="")
    services_ok: Mapped[int] = mapped_column(Integer, default=0)
    services_warn: Mapped[int] = mapped_column(Integer, default=0)
    services_crit: Mapped[int] = mapped_column(Integer, default=0)
    services_unknown: Mapped[int] = mapped_column(Integer, default=0)
    services_pending: Mapped[int] = mapped_column(Integer, default=0)
    last_check_at: Mapped[datetime | None] = mapped_column(default=None)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("rmm_devices.id", ondelete="SET NULL"), default=None)
    map_mode: Mapped[MapMode] = mapped_column(_enum(MapMode), default=MapMode.AUTO)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
