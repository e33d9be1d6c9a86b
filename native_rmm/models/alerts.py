"""Tables of native RMM alerting: per-organisation metric thresholds and the alert queue.

An alert comes from a metric threshold (``source=metric``, ``metric`` set, one device) or from a
synthetic monitor (``source=monitor``, ``monitor_id`` set). At most one alert is *active* (open or
acknowledged) per device and metric, or per monitor: :attr:`Alert.active_key` holds that identity
while the alert is active and is cleared on resolution; a unique constraint enforces it on every
backend (NULLs never collide).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Enum, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class MetricName(StrEnum):
    """The agent metrics that have thresholds."""

    CPU = "cpu"
    MEMORY = "memory"
    DISK = "disk"


class AlertSource(StrEnum):
    """Where an alert comes from."""

    METRIC = "metric"
    MONITOR = "monitor"
    CHECKMK = "checkmk"


class AlertSeverity(StrEnum):
    """How bad it is: ``warning`` (at/above warn) or ``critical`` (at/above danger, or a monitor down)."""

    WARNING = "warning"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    """``open`` -> ``acknowledged`` (someone is on it) -> ``resolved`` (by a person or automatically)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


ACTIVE_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


def _enum(cls: type[StrEnum], length: int = 20) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class MetricThresholds(Base):
    """The single per-organisation set of warn/danger percentages (a row exists once an admin saves)."""

    __tablename__ = "rmm_metric_thresholds"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), unique=True)
    cpu_warn: Mapped[float] = mapped_column(Float)
    cpu_danger: Mapped[float] = mapped_column(Float)
    memory_warn: Mapped[float] = mapped_column(Float)
    memory_danger: Mapped[float] = mapped_column(Float)
    disk_warn: Mapped[float] = mapped_column(Float)
    disk_danger: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_label: Mapped[str] = mapped_column(String(200), default="")


class CustomerThresholds(Base):
    """A customer's own warn/danger percentages: they override the organisation's set for its devices."""

    __tablename__ = "rmm_customer_thresholds"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    cpu_warn: Mapped[float] = mapped_column(Float)
    cpu_danger: Mapped[float] = mapped_column(Float)
    memory_warn: Mapped[float] = mapped_column(Float)
    memory_danger: Mapped[float] = mapped_column(Float)
    disk_warn: Mapped[float] = mapped_column(Float)
    disk_danger: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_label: Mapped[str] = mapped_column(String(200), default="")


class Alert(Base):
    """One alert in an organisation's queue."""

    __tablename__ = "rmm_alerts"
    __table_args__ = (
        Index("ix_rmm_alerts_org_status", "org_id", "status"),
        Index("ix_rmm_alerts_device_status", "device_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("rmm_devices.id", ondelete="CASCADE"), default=None)
    source: Mapped[AlertSource] = mapped_column(_enum(AlertSource))
    metric: Mapped[MetricName | None] = mapped_column(_enum(MetricName), default=None)
    monitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("rmm_monitors.id", ondelete="SET NULL"), default=None, index=True
    )
    severity: Mapped[AlertSeverity] = mapped_column(_enum(AlertSeverity))
    status: Mapped[AlertStatus] = mapped_column(_enum(AlertStatus), default=AlertStatus.OPEN)
    active_key: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float, default=None)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    acknowledged_by_label: Mapped[str | None] = mapped_column(String(200), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    resolved_by_label: Mapped[str | None] = mapped_column(String(200), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    auto_resolved: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def is_active(self) -> bool:
        """Open or acknowledged (not resolved)."""
        return self.status in ACTIVE_STATUSES


def metric_key(device_id: int, metric: MetricName) -> str:
    """The :attr:`Alert.active_key` of a device's metric alert."""
    return f"metric:{device_id}:{metric.value}"


def monitor_key(monitor_id: int) -> str:
    """The :attr:`Alert.active_key` of a monitor's alert."""
    return f"monitor:{monitor_id}"
