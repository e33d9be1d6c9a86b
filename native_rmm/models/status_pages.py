"""Table of public status pages: per customer, opt-in, reached by an unguessable URL without a login.

The URL's token is never stored: :attr:`StatusPage.token_digest` is its SHA-256, looked up by digest
and compared in constant time (see :mod:`native_rmm.status_pages.service`). ``items`` names what the
page shows, each with the public name the admin chose (see
:class:`native_rmm.status_pages.schemas.StatusItem`); nothing else of the customer is ever shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class StatusPage(Base):
    """One customer's public status page (a row exists once an admin has set it up)."""

    __tablename__ = "rmm_status_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(200), default="")
    #: SHA-256 (hex) of the URL token; None until a URL was first minted.
    token_digest: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    #: ``[{"kind": "monitor"|"device", "id": int, "label": str}, ...]`` in display order.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    incident_days: Mapped[int] = mapped_column(Integer, default=7)
    url_rotated_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_label: Mapped[str] = mapped_column(String(200), default="")
