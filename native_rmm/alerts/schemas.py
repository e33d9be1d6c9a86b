"""Wire models of alerting: thresholds (admin REST), alerts (REST, tools, pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus, MetricName

Percent = Annotated[float, Field(gt=0, le=100)]


class Thresholds(BaseModel):
    """Warn/danger percentages per metric; each pair must satisfy ``0 < warn < danger <= 100``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_warn: Percent = 80.0
    cpu_danger: Percent = 90.0
    memory_warn: Percent = 85.0
    memory_danger: Percent = 95.0
    disk_warn: Percent = 85.0
    disk_danger: Percent = 95.0

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        for metric in MetricName:
            warn, danger = self.pair(metric)
            if warn >= danger:
                raise ValueError(
                    f"{metric.value}: the warn threshold ({warn:g}%) must be below the danger threshold ({danger:g}%)"
                )
        return self

    def pair(self, metric: MetricName) -> tuple[float, float]:
        """``(warn, danger)`` of one metric."""
        values: tuple[float, float] = (getattr(self, f"{metric.value}_warn"), getattr(self, f"{metric.value}_danger"))
        return values


class ThresholdsOut(Thresholds):
    """Thresholds as shown to admins: ``is_default`` when the organisation never saved its own."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    is_default: bool = True
    updated_at: datetime | None = None
    updated_by: str | None = None


class AlertOut(BaseModel):
    """One alert, for lists, the REST API and tool results."""

    id: int
    device_id: int | None
    source: AlertSource
    metric: MetricName | None
    monitor_id: int | None
    severity: AlertSeverity
    status: AlertStatus
    message: str
    value: float | None
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    auto_resolved: bool

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        """Build from the ORM row."""
        return cls(
            id=alert.id,
            device_id=alert.device_id,
            source=alert.source,
            metric=alert.metric,
            monitor_id=alert.monitor_id,
            severity=alert.severity,
            status=alert.status,
            message=alert.message,
            value=alert.value,
            first_seen_at=alert.first_seen_at,
            last_seen_at=alert.last_seen_at,
            acknowledged_by=alert.acknowledged_by_label,
            acknowledged_at=alert.acknowledged_at,
            resolved_by=alert.resolved_by_label,
            resolved_at=alert.resolved_at,
            auto_resolved=alert.auto_resolved,
        )


class AlertAction(BaseModel):
    """Body of the acknowledge/resolve REST actions."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)
