"""Native tickets: a piece of work with a status, priority and assignee, comments, and references
to the devices and alerts it is about."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Enum, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.core.db import Base, utcnow


class TicketStatus(StrEnum):
    """Life of a ticket; ``resolved`` and ``closed`` are done."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


DONE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class TicketPriority(StrEnum):
    """How urgent a ticket is."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


def _enum(cls: type[StrEnum], length: int = 20) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


ticket_devices = Table(
    "rmm_ticket_devices",
    Base.metadata,
    Column("ticket_id", ForeignKey("rmm_tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("device_id", ForeignKey("rmm_devices.id", ondelete="CASCADE"), primary_key=True, index=True),
)
"""Which devices a ticket is about."""

ticket_alerts = Table(
    "rmm_ticket_alerts",
    Base.metadata,
    Column("ticket_id", ForeignKey("rmm_tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("alert_id", ForeignKey("rmm_alerts.id", ondelete="CASCADE"), primary_key=True, index=True),
)
"""Which alerts a ticket is about."""


class Ticket(Base):
    """A ticket of an organisation."""

    __tablename__ = "rmm_tickets"
    __table_args__ = (Index("ix_rmm_tickets_org_status", "org_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), default=TicketStatus.OPEN)
    priority: Mapped[TicketPriority] = mapped_column(_enum(TicketPriority), default=TicketPriority.NORMAL)
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The customer the ticket is for (optionally one of its sites).
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL", name="fk_rmm_tickets_customer_id"), default=None, index=True
    )
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL", name="fk_rmm_tickets_site_id"), default=None
    )
    #: A reference in an external PSA (e.g. the ConnectWise Manage ticket number).
    external_ref: Mapped[str] = mapped_column(String(100), default="")

    comments: Mapped[list[TicketComment]] = relationship(
        back_populates="ticket", order_by="TicketComment.id", cascade="all, delete-orphan", passive_deletes=True
    )


class TicketComment(Base):
    """A comment on a ticket (a person's note, or a system note such as a status change)."""

    __tablename__ = "rmm_ticket_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("rmm_tickets.id", ondelete="CASCADE"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    author_label: Mapped[str] = mapped_column(String(200))
    via: Mapped[str] = mapped_column(String(20), default="ui")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="comments")
