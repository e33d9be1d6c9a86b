"""Service tickets: ``/api/platform/v2/service/ticketing/tickets`` (reference §3.8)."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from pydantic import Field

from connectors.connectwise_rmm.client.schemas.base import CWModel, IdName, IdRef, truncate


class TicketSortField(StrEnum):
    ASSIGN_TO = "assignTo"
    NUMBER = "number"
    UPDATED_AT = "updatedAt"
    CREATED_AT = "createdAt"
    STATUS = "status"
    TYPE = "type"
    PRIORITY = "priority"
    SUMMARY = "summary"
    ASSIGN_TEAM = "assignTeam"
    DUE_DATE = "dueDate"
    SOURCE = "source"


class SortDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"


class ExtendedAttribute(CWModel):
    id: str | None = None
    name: str | None = None
    value: str | int | float | bool | None = None


class Ticket(CWModel):
    """A service ticket."""

    id: str
    number: str | None = None
    summary: str | None = None
    description: str | None = None
    company: IdRef | None = None
    site: IdRef | None = None
    status: IdName | None = None
    priority: IdName | None = None
    type: IdName | None = None
    category: IdName | None = None
    service_board: IdName | None = None
    source: IdName | None = None
    assignee: IdRef | None = None
    assignee_team: IdName | None = None
    tags: list[IdName] = Field(default_factory=list)
    assets: list[IdRef] = Field(default_factory=list)
    extended_attributes: list[ExtendedAttribute] = Field(default_factory=list)
    due_date: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    created_by: IdRef | None = None
    updated_by: IdRef | None = None
    noc_ticket_id: str | None = None
    version: int | None = None

    def summary_view(self, *, description_chars: int = 1000) -> TicketSummary:
        """Ticket trimmed for a list or a model: names instead of nested objects, description cut."""
        return TicketSummary(
            id=self.id,
            number=self.number,
            summary=self.summary,
            description=truncate(self.description, description_chars),
            company_id=self.company.id if self.company else None,
            site_id=self.site.id if self.site else None,
            status=self.status.name if self.status else None,
            priority=self.priority.name if self.priority else None,
            board=self.service_board.name if self.service_board else None,
            source=self.source.name if self.source else None,
            asset_ids=[a.id for a in self.assets],
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


class TicketSummary(CWModel):
    id: str
    number: str | None = None
    summary: str | None = None
    description: str | None = None
    company_id: str | None = None
    site_id: str | None = None
    status: str | None = None
    priority: str | None = None
    board: str | None = None
    source: str | None = None
    asset_ids: list[str] = Field(default_factory=list)
    created_at: str | None = None
    updated_at: str | None = None


class TicketList(CWModel):
    """``{"tickets": [...], "totalCount": n}``."""

    tickets: list[Ticket] = Field(default_factory=list)
    total_count: int | None = None


class TicketCreate(CWModel):
    """Body of a new ticket. ``summary``, ``description``, ``serviceBoard`` and ``source`` are required.

    Attach the device in ``assets`` at creation: a device attached by a later update does not carry
    through to ConnectWise Manage (ProVal's observation, reference §7).
    """

    summary: str = Field(min_length=1, max_length=255)
    description: str = Field(min_length=1, max_length=10000)
    service_board: IdRef
    source: IdRef
    company: IdRef | None = None
    site: IdRef | None = None
    priority: IdRef | None = None
    status: IdRef | None = None
    type: IdRef | None = None
    assets: list[IdRef] = Field(default_factory=list)

    def to_wire(self) -> dict[str, object]:
        """The JSON body: camelCase keys, absent optionals left out."""
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if not self.assets:
            body.pop("assets", None)
        return body


class NoteVisibility(IntEnum):
    """Who sees a ticket note (the spec's ``visibility`` enum)."""

    ALL = 1
    PARTNER = 2
    EXPERT_SERVICES = 7
    EXPERT_USERS = 8


class TicketNoteCreate(CWModel):
    """Body of a new ticket note: ``{"detail": "...", "visibility": 2}`` (reference §6)."""

    detail: str = Field(min_length=1, max_length=12000)
    visibility: NoteVisibility = NoteVisibility.PARTNER

    def to_wire(self) -> dict[str, object]:
        """The JSON body."""
        return {"detail": self.detail, "visibility": int(self.visibility)}


class TicketNote(CWModel):
    """A stored ticket note (201 of ``POST .../tickets/{id}/notes``)."""

    id: str
    ticket_id: str | None = None
    detail: str = ""
    visibility: int | None = None
    created_at: str | None = None
    created_by: str | None = None

    def summary_view(self) -> TicketNote:
        """The note with its detail trimmed for a tool result."""
        return self.model_copy(update={"detail": truncate(self.detail, 2000) or ""})
