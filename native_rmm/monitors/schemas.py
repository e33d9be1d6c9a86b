"""Wire models of synthetic monitors (REST and pages)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from native_rmm.models.monitors import CheckState, Monitor, MonitorKind

_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$|^\[?[0-9A-Fa-f:.]+\]?$")
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _check_target(kind: MonitorKind, target: str) -> None:
    if kind is MonitorKind.HTTP:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"an http monitor needs an http:// or https:// URL, not {target!r}")
    elif not _HOST.match(target):
        raise ValueError(f"a {kind.value} monitor needs a host name or IP address (no scheme or path), not {target!r}")


class MonitorFields(BaseModel):
    """Settings shared by create and update."""

    model_config = ConfigDict(extra="forbid")

    port: int | None = Field(default=None, ge=1, le=65535, description="tls: default 443; ping: TCP connect check")
    expected_status: int = Field(default=200, ge=100, le=599)
    content_match: str | None = Field(default=None, min_length=1, max_length=1000)
    timeout_seconds: float = Field(default=10.0, ge=0.2, le=60)
    interval_seconds: int = Field(default=300, ge=10, le=86400)
    failure_threshold: int = Field(default=3, ge=1, le=100, description="consecutive failures before an alert")
    tls_warn_days: int = Field(default=14, ge=0, le=365)
    enabled: bool = True


class MonitorIn(MonitorFields):
    """Body of ``POST /api/v1/rmm/monitors``."""

    name: Name
    kind: MonitorKind
    target: str = Field(min_length=1, max_length=2000, description="a URL (http) or a host (ping, tls)")

    @model_validator(mode="after")
    def _target_fits_kind(self) -> MonitorIn:
        _check_target(self.kind, self.target)
        return self


class MonitorUpdate(BaseModel):
    """Body of ``PUT /api/v1/rmm/monitors/{id}``: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    target: str | None = Field(default=None, min_length=1, max_length=2000)
    port: int | None = Field(default=None, ge=1, le=65535)
    expected_status: int | None = Field(default=None, ge=100, le=599)
    content_match: str | None = Field(default=None, max_length=1000, description="empty string clears it")
    timeout_seconds: float | None = Field(default=None, ge=0.2, le=60)
    interval_seconds: int | None = Field(default=None, ge=10, le=86400)
    failure_threshold: int | None = Field(default=None, ge=1, le=100)
    tls_warn_days: int | None = Field(default=None, ge=0, le=365)
    enabled: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the client sent."""
        return self.model_dump(exclude_unset=True)


class MonitorOut(BaseModel):
    """A monitor with the state of its last run."""

    id: int
    name: str
    kind: MonitorKind
    target: str
    port: int | None
    expected_status: int
    content_match: str | None
    timeout_seconds: float
    interval_seconds: int
    failure_threshold: int
    tls_warn_days: int
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_state: CheckState | None
    last_message: str | None
    last_latency_ms: float | None
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, monitor: Monitor) -> MonitorOut:
        """Build from the ORM row."""
        return cls.model_validate(monitor, from_attributes=True)
