"""Tables of notifications: channels, the outbox (which is also the delivery log) and delivery attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class ChannelKind(StrEnum):
    """How a channel delivers."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"


class DeliveryStatus(StrEnum):
    """Life of an outbox row: ``pending`` until sent, ``digested`` when folded into a digest row."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DIGESTED = "digested"


def _enum(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class NotificationChannel(Base):
    """A destination configured under Admin -> Notifications.

    ``config`` holds what is not secret (SMTP host/port/security/user/from/to, a webhook URL);
    ``secret_enc`` the SMTP password or the webhook signing secret, encrypted with
    :class:`hub.core.security.SecretBox`.
    """

    __tablename__ = "notification_channels"
    __table_args__ = (Index("ix_notification_channels_org_name", "org_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[ChannelKind] = mapped_column(_enum(ChannelKind))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_enc: Mapped[str | None] = mapped_column(Text, default=None)
    per_minute: Mapped[int] = mapped_column(Integer, default=10)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """One notification to deliver (or delivered, or given up on): the channel's delivery log."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500), default=None)
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    digest_id: Mapped[int | None] = mapped_column(Integer, default=None)
    digest_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
