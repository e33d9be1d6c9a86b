"""Tables of synthetic monitors: HTTP, ping and TLS probes the hub runs on a schedule.

A monitor counts consecutive failed runs; once the count reaches ``failure_threshold`` it raises
an alert (see :mod:`native_rmm.models.alerts`), and the first passing run resolves it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Enum, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class MonitorKind(StrEnum):
    """What a monitor probes.

    ``http``: GET ``target`` (a URL), expect ``expected_status`` and, optionally, ``content_match``
    in the body. ``ping``: ICMP echo to ``target`` (a host) through the system ``ping`` binary, or a
    TCP connect to ``target:port`` when ``port`` is set. ``tls``: handshake with ``target:port``
    (default 443), verify the certificate chain and host name, and warn ``tls_warn_days`` before expiry.
    """

    HTTP = "http"
    PING = "ping"
    TLS = "tls"


class CheckState(StrEnum):
    """Outcome of one run: ``ok``, ``warning`` (e.g. certificate expiring soon) or ``critical`` (down)."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


def _enum(cls: type[StrEnum], length: int = 20) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Monitor(Base):
    """One synthetic monitor of an organisation, with the state of its last run."""

    __tablename__ = "rmm_monitors"
    __table_args__ = (Index("ix_rmm_monitors_enabled_next_run_at", "enabled", "next_run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[MonitorKind] = mapped_column(_enum(MonitorKind))
    target: Mapped[str] = mapped_column(String(2000))
    port: Mapped[int | None] = mapped_column(Integer, default=None)
    expected_status: Mapped[int] = mapped_column(Integer, default=200)
    content_match: Mapped[str | None] = mapped_column(String(1000), default=None)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=10.0)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    failure_threshold: Mapped[int] = mapped_column(Integer, default=3)
    tls_warn_days: Mapped[int] = mapped_column(Integer, default=14)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    last_state: Mapped[CheckState | None] = mapped_column(_enum(CheckState), default=None)
    last_message: Mapped[str | None] = mapped_column(Text, default=None)
    last_latency_ms: Mapped[float | None] = mapped_column(Float, default=None)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_label: Mapped[str] = mapped_column(String(200), default="")
