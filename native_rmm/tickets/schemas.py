"""Wire models of tickets: tool arguments (also the REST bodies) and results."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.core.bounds import Id
from native_rmm.models.tickets import TicketPriority, TicketStatus

Ids = Annotated[list[Id], Field(max_length=50)]
Title = Annotated[str, Field(min_length=1, max_length=300)]
StatusFilter = Literal["active", "open", "in_progress", "waiting", "resolved", "closed", "any"]
ExternalRef = Annotated[str, Field(max_length=100, description="the ticket's number in an external PSA, e.g. CW-10234")]


class CreateTicketArgs(BaseModel):
    """Arguments of ``rmm-create-ticket``."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: str = Field(default="", max_length=20000)
    priority: TicketPriority = TicketPriority.NORMAL
    assignee_user_id: Id | None = Field(default=None, description="a user of the organisation")
    device_ids: Ids = Field(default_factory=list, description="devices the ticket is about")
    alert_ids: Ids = Field(default_factory=list, description="alerts the ticket is about")
    customer_id: Id | None = Field(
        default=None, description="the customer it is for; default: the customer of the first device (or alert)"
    )
    site_id: Id | None = Field(default=None, description="optionally one of the customer's sites")
    external_ref: ExternalRef = ""


class UpdateTicketArgs(BaseModel):
    """Arguments of ``rmm-update-ticket``: only the fields given change; ``assignee_user_id: null`` unassigns."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: Id
    title: Title | None = None
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    assignee_user_id: Id | None = Field(default=None)
    add_device_ids: Ids = Field(default_factory=list)
    add_alert_ids: Ids = Field(default_factory=list)
    customer_id: Id | None = None
    site_id: Id | None = None
    external_ref: ExternalRef | None = None
    note: str = Field(default="", max_length=20000, description="an optional comment recorded with the change")


class CommentTicketArgs(BaseModel):
    """Arguments of ``rmm-comment-ticket``."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: Id
    body: str = Field(min_length=1, max_length=20000)


class ListTicketsArgs(BaseModel):
    """Arguments of ``rmm-list-tickets``."""

    model_config = ConfigDict(extra="forbid")

    status: StatusFilter = Field(default="active", description="'active' = open, in progress or waiting")
    priority: TicketPriority | None = None
    customer_id: Id | None = None
    device_id: Id | None = None
    assignee_user_id: Id | None = None
    search: str | None = Field(default=None, max_length=200, description="text in the title or description")
    limit: int = Field(default=50, ge=1, le=200)


class TicketRef(BaseModel):
    """Arguments of ``rmm-get-ticket``."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: Id


class CommentOut(BaseModel):
    """One comment."""

    id: int
    author: str
    via: str
    body: str
    created_at: datetime


class TicketSummary(BaseModel):
    """A ticket in a list."""

    id: int
    title: str
    status: TicketStatus
    priority: TicketPriority
    assignee_user_id: int | None
    assignee: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    customer_id: int | None = None
    customer: str | None = None
    site_id: int | None = None
    site: str | None = None
    external_ref: str = ""


class LinkedDevice(BaseModel):
    """A device a ticket is about."""

    id: int
    name: str


class LinkedAlert(BaseModel):
    """An alert a ticket is about."""

    id: int
    message: str
    status: str
    device_id: int | None


class TicketDetail(TicketSummary):
    """A ticket with its description, references and comments."""

    description: str
    device_ids: list[int]
    alert_ids: list[int]
    devices: list[LinkedDevice] = Field(default_factory=list)
    alerts: list[LinkedAlert] = Field(default_factory=list)
    comments: list[CommentOut]


class TicketList(BaseModel):
    """Result of ``rmm-list-tickets``."""

    count: int
    tickets: list[TicketSummary]
