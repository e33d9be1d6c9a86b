"""Agent installers: the per-organisation Base installer and scoped (customer/site) ones."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class InstallerKind(StrEnum):
    """``base``: always present, devices land in Unassigned; ``scoped``: pre-assigns a customer/site."""

    BASE = "base"
    SCOPED = "scoped"


class Installer(Base):
    """An installer token and where devices enrolled with it land.

    The token is stored twice: as a SHA-256 hash (``token_hash``, for the lookup at enrollment)
    and encrypted with :class:`hub.core.security.SecretBox` (``token_encrypted``), because Admin ->
    Agent installers must show the install command again. ``base_org_id`` equals ``org_id`` for
    the Base installer and is NULL otherwise; its unique index guarantees one Base per organisation.
    ``max_uses`` / ``expires_at`` are optional limits; ``uses`` counts successful enrollments.
    ``quick_support`` installers enroll temporary quick-support agents. ``rustdesk_*``: devices
    enrolled with it get RustDesk (installed, pointed at that server, a random permanent password).
    """

    __tablename__ = "rmm_installers"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[InstallerKind] = mapped_column(
        Enum(InstallerKind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    base_org_id: Mapped[int | None] = mapped_column(Integer, unique=True, default=None)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), default=None)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), default=None)
    quick_support: Mapped[bool] = mapped_column(Boolean, default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    token_prefix: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    max_uses: Mapped[int | None] = mapped_column(Integer, default=None)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    # RustDesk for unattended access (opt-in): the MSP's ID/relay server and its public key.
    rustdesk_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    rustdesk_id_server: Mapped[str] = mapped_column(String(255), default="")
    rustdesk_relay_server: Mapped[str] = mapped_column(String(255), default="")
    rustdesk_key: Mapped[str] = mapped_column(String(255), default="")
