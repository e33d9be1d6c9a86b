"""Remote sessions (shell, screen, files): one row per session, its event trail, consent rules.

A session row is written when a session tool mints its tickets; the relay reports what happens
(viewers joining and leaving, consent, view-only, elevation, file transfers, the end and why) and
the hub appends those reports to the trail and keeps the row's summary current. Shell sessions
carry an asciicast v2 recording (``recording``: a file name in the recordings directory).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class RemoteSessionStatus(StrEnum):
    """``pending`` until both ends are there, ``active`` while bridged, then ``ended``."""

    PENDING = "pending"
    ACTIVE = "active"
    ENDED = "ended"


class ConsentScope(StrEnum):
    """What a consent rule applies to (the most specific rule wins: device, then site, then customer)."""

    CUSTOMER = "customer"
    SITE = "site"
    DEVICE = "device"


def _enum(cls: type[Any]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class RemoteSession(Base):
    """One remote session on one device."""

    __tablename__ = "rmm_remote_sessions"
    __table_args__ = (Index("ix_rmm_remote_sessions_org_status", "org_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("rmm_devices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[RemoteSessionStatus] = mapped_column(_enum(RemoteSessionStatus), default=RemoteSessionStatus.PENDING)
    opened_by: Mapped[str] = mapped_column(String(200))
    opened_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    command_id: Mapped[int | None] = mapped_column(Integer, default=None)
    relay_url: Mapped[str] = mapped_column(String(512), default="")
    quick_support: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_required: Mapped[bool] = mapped_column(Boolean, default=False)
    consent: Mapped[str | None] = mapped_column(String(20), default=None)
    elevated: Mapped[bool] = mapped_column(Boolean, default=False)
    viewers: Mapped[list[str]] = mapped_column(JSON, default=list)
    recording: Mapped[str | None] = mapped_column(String(200), default=None)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(Text, default=None)


class RemoteSessionEvent(Base):
    """One entry of a session's trail, as the relay reported it (``data``: e.g. a transfer's name, size, sha256)."""

    __tablename__ = "rmm_remote_session_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("rmm_remote_sessions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user: Mapped[str] = mapped_column(String(150), default="")
    role: Mapped[str | None] = mapped_column(String(20), default=None)
    viewers: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RemoteConsentRule(Base):
    """Privacy mode for a customer, a site or a device: whether the end user must accept a connection."""

    __tablename__ = "rmm_remote_consent_rules"
    __table_args__ = (UniqueConstraint("org_id", "scope", "scope_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    scope: Mapped[ConsentScope] = mapped_column(_enum(ConsentScope))
    scope_id: Mapped[int] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    set_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
