"""RustDesk per device (installers that opt in) and the organisation's agent-update setting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class DeviceRustDesk(Base):
    """A device's RustDesk: the permanent password (encrypted, :class:`hub.core.security.SecretBox`)
    set at enrollment, and the ID (or the set-up error) the agent reported."""

    __tablename__ = "rmm_device_rustdesk"

    device_id: Mapped[int] = mapped_column(ForeignKey("rmm_devices.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    password_encrypted: Mapped[str] = mapped_column(Text)
    rustdesk_id: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    reported_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentUpdateSetting(Base):
    """Whether outdated agents are updated automatically (a row exists once an admin saves)."""

    __tablename__ = "rmm_agent_update_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), unique=True)
    auto_update: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_label: Mapped[str] = mapped_column(String(200), default="")
