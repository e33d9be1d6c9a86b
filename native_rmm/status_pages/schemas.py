"""Typed arguments and results of the status-page tools, and the public view (display names only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.core.bounds import Id

#: The most monitors and devices one page may show.
MAX_ITEMS = 100
#: How far back "recent incidents" may reach.
MAX_INCIDENT_DAYS = 90


class ItemKind(StrEnum):
    """What a status-page entry is."""

    MONITOR = "monitor"
    DEVICE = "device"


class PublicState(StrEnum):
    """What the public sees of an entry: ``up``, ``degraded``, ``down`` or ``unknown`` (no data yet)."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    UNKNOWN = "unknown"


class StatusItem(BaseModel):
    """One monitor or device on the page, under the public name the admin chose."""

    model_config = ConfigDict(extra="forbid")

    kind: ItemKind
    id: Id = Field(description="the monitor's or device's id (never shown on the page)")
    label: str = Field(
        default="",
        max_length=80,
        description="the public name; blank: the monitor's name or the device's display name, as it is now",
    )


class StatusPageIn(BaseModel):
    """Arguments of ``rmm-update-status-page``."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Id
    enabled: bool = Field(description="whether the public URL answers (a first enable mints the URL)")
    title: str = Field(default="", max_length=200, description="the page heading; blank: 'Service status'")
    items: list[StatusItem] = Field(default_factory=list, max_length=MAX_ITEMS, description="what the page shows")
    incident_days: int = Field(default=7, ge=1, le=MAX_INCIDENT_DAYS, description="incidents of the last N days")

    @model_validator(mode="after")
    def _no_duplicates(self) -> StatusPageIn:
        keys = [(i.kind, i.id) for i in self.items]
        if len(keys) != len(set(keys)):
            raise ValueError("each monitor and device may appear once")
        return self


class StatusPageRef(BaseModel):
    """Arguments naming one customer's status page."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Id


class StatusPageOut(BaseModel):
    """A customer's status page as an admin sees it (the URL only right after it was minted)."""

    customer_id: int
    customer: str
    configured: bool = Field(description="whether the page was ever set up")
    enabled: bool
    title: str
    items: list[StatusItem]
    incident_days: int
    has_url: bool = Field(description="whether a URL was minted (only its hash is stored)")
    status_url: str | None = Field(
        default=None, description="the public URL; returned only by the call that minted it (copy it now)"
    )
    url_rotated_at: datetime | None
    updated_at: datetime | None
    updated_by: str


@dataclass(frozen=True)
class PublicItem:
    """One entry as the public sees it."""

    label: str
    kind: ItemKind
    state: PublicState


@dataclass(frozen=True)
class PublicIncident:
    """An alert of a shown entry, described without its internal message."""

    label: str
    what: str
    severity: str
    started_at: datetime
    resolved_at: datetime | None

    @property
    def ongoing(self) -> bool:
        """Not resolved yet."""
        return self.resolved_at is None


@dataclass(frozen=True)
class PublicStatus:
    """Everything the public page shows, and nothing more."""

    title: str
    overall: PublicState
    items: list[PublicItem]
    incidents: list[PublicIncident]
    incident_days: int
    generated_at: datetime
