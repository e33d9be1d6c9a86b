"""Devices and what hangs off them: credentials, installed applications and patch records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agent.protocol import DEFAULT_CHECKIN_INTERVAL_SECONDS, OsFamily, PatchStatus
from hub.core.db import Base, utcnow


def _enum(cls: type[StrEnum], length: int = 20) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class DeviceStatus(StrEnum):
    """Health of the agent channel; defined and computed in :mod:`native_rmm.status`."""

    ONLINE = "online"
    UNRESPONSIVE = "unresponsive"
    OFFLINE = "offline"
    UNINSTALLED = "uninstalled"


class Device(Base):
    """A managed endpoint, under an organisation and a site (``Unassigned`` unless scoped).

    Inventory columns are what the agent last reported (``hardware`` and ``interfaces`` hold the
    :mod:`agent.protocol` models as JSON). ``last_*_percent`` mirror the newest metric sample so
    lists never join the samples table. ``status`` is maintained by :mod:`native_rmm.status`;
    ``ws_connection_id`` names the live WebSocket (so a replica closing a replaced socket never
    marks the newer one disconnected). Demo devices (``is_demo``) are seeded, never check in, and
    keep the status they were seeded with.
    """

    __tablename__ = "rmm_devices"
    __table_args__ = (
        Index("ix_rmm_devices_org_status", "org_id", "status"),
        Index("ix_rmm_devices_org_hostname", "org_id", "hostname"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    installer_id: Mapped[int | None] = mapped_column(ForeignKey("rmm_installers.id", ondelete="SET NULL"), default=None)
    hostname: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    os_family: Mapped[OsFamily | None] = mapped_column(_enum(OsFamily), default=None)
    os_name: Mapped[str] = mapped_column(String(255), default="")
    os_version: Mapped[str] = mapped_column(String(255), default="")
    primary_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    ip_addresses: Mapped[list[str]] = mapped_column(JSON, default=list)
    interfaces: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    hardware: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    boot_time: Mapped[datetime | None] = mapped_column(default=None)
    inventory_at: Mapped[datetime | None] = mapped_column(default=None)
    agent_version: Mapped[str] = mapped_column(String(64), default="")
    protocol_version: Mapped[int | None] = mapped_column(Integer, default=None)
    checkin_interval_seconds: Mapped[int] = mapped_column(Integer, default=DEFAULT_CHECKIN_INTERVAL_SECONDS)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    ws_connected: Mapped[bool] = mapped_column(Boolean, default=False)
    ws_connection_id: Mapped[str | None] = mapped_column(String(64), default=None)
    ws_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[DeviceStatus] = mapped_column(_enum(DeviceStatus), default=DeviceStatus.OFFLINE)
    status_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_metrics_at: Mapped[datetime | None] = mapped_column(default=None)
    last_cpu_percent: Mapped[float | None] = mapped_column(Float, default=None)
    last_memory_percent: Mapped[float | None] = mapped_column(Float, default=None)
    last_disk_percent: Mapped[float | None] = mapped_column(Float, default=None)
    applications_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    patches_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    quick_support: Mapped[bool] = mapped_column(Boolean, default=False)
    support_code: Mapped[str | None] = mapped_column(String(32), default=None)
    session_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    uninstalled_at: Mapped[datetime | None] = mapped_column(default=None)
    uninstall_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who uses it: set by operators (rmm-update-device) ...
    assigned_user_name: Mapped[str] = mapped_column(String(200), default="")
    assigned_user_email: Mapped[str] = mapped_column(String(320), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    # ... and reported by the agent (agent.protocol.UserSessions): sessions open now, the last login.
    logged_in_users: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: The distinct user names of ``logged_in_users``, space-separated and lower-cased (for filtering).
    logged_in_names: Mapped[str] = mapped_column(String(1000), default="")
    last_user: Mapped[str] = mapped_column(String(200), default="")
    last_user_at: Mapped[datetime | None] = mapped_column(default=None)
    users_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def label(self) -> str:
        """How the device is shown: its display name, else its hostname."""
        return self.display_name or self.hostname


class DeviceCredential(Base):
    """A device's bearer credential; only the SHA-256 hash is stored.

    Rotation issues a new credential and gives the previous one a short ``expires_at`` grace
    (the answer carrying the new one may be lost); revocation sets ``revoked_at``.
    """

    __tablename__ = "rmm_device_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("rmm_devices.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(100), default=None)


class InstalledApplication(Base):
    """One installed application as last reported (the list is replaced when its hash changes)."""

    __tablename__ = "rmm_device_applications"
    __table_args__ = (Index("ix_rmm_device_applications_device_name", "device_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("rmm_devices.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255), default="")
    publisher: Mapped[str] = mapped_column(String(255), default="")


class PatchRecord(Base):
    """An OS update of a device: ``key`` is the KB number or package name the agent reported.

    A pending patch the agent stops reporting becomes ``installed``; operators can mark a patch
    applied by hand (``marked_by``).
    """

    __tablename__ = "rmm_device_patches"
    __table_args__ = (UniqueConstraint("device_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("rmm_devices.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255), default="")
    severity: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[PatchStatus] = mapped_column(_enum(PatchStatus), default=PatchStatus.PENDING)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    installed_at: Mapped[datetime | None] = mapped_column(default=None)
    marked_by: Mapped[str | None] = mapped_column(String(200), default=None)


class DeviceTag(Base):
    """A label on a device (lower-case, see :data:`native_rmm.devices.targets.TAG_PATTERN`)."""

    __tablename__ = "rmm_device_tags"
    __table_args__ = (UniqueConstraint("device_id", "tag"), Index("ix_rmm_device_tags_tag", "tag"))

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("rmm_devices.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(64))


class DeviceGroup(Base):
    """A saved device filter (a dynamic group): it resolves to its devices each time it is used.

    ``filters`` holds a :class:`native_rmm.devices.groups.GroupFilter` as JSON.
    """

    __tablename__ = "rmm_device_groups"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
