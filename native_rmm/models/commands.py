"""Remote commands: the queue the agent is served from (pushed over the WebSocket or at check-in)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agent.protocol import CommandKind, CommandStatus, Shell
from hub.core.db import Base, utcnow

ACTIVE_STATUSES = (CommandStatus.QUEUED, CommandStatus.DELIVERED, CommandStatus.RUNNING)


def _enum(cls: type[Any]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Command(Base):
    """One command for one device.

    ``uid`` is the id on the wire (:class:`agent.protocol.CommandSpec.id`); ``id`` is what people
    and tools use. Life cycle: ``queued`` -> ``delivered`` (pushed or handed out at a check-in;
    ``acked_at`` once the agent acknowledged it) -> ``running`` -> ``succeeded`` / ``failed`` /
    ``timed_out`` / ``cancelled``. ``deadline_at`` is when the hub gives up waiting once the command was
    delivered or started (its timeout plus a grace); a command never delivered expires after the
    queue TTL counted from ``queued_at``. ``result_at`` is set by the first
    result the agent reports (later ones are acknowledged and dropped); ``error`` explains
    hub-side outcomes (cancelled by whom, timed out where). ``script_id`` points at a script of the
    operations domain (no foreign key: that table is created by a later migration).
    """

    __tablename__ = "rmm_commands"
    __table_args__ = (
        Index("ix_rmm_commands_device_status", "device_id", "status"),
        Index("ix_rmm_commands_device_queued", "device_id", "queued_at"),
        Index("ix_rmm_commands_status_deadline", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("rmm_devices.id", ondelete="CASCADE"))
    kind: Mapped[CommandKind] = mapped_column(_enum(CommandKind))
    shell: Mapped[Shell | None] = mapped_column(_enum(Shell), default=None)
    body: Mapped[str] = mapped_column(Text, default="")
    env: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    patch_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    timeout_seconds: Mapped[int] = mapped_column(Integer)
    status: Mapped[CommandStatus] = mapped_column(_enum(CommandStatus), default=CommandStatus.QUEUED)
    exit_code: Mapped[int | None] = mapped_column(Integer, default=None)
    stdout: Mapped[str] = mapped_column(Text, default="")
    stderr: Mapped[str] = mapped_column(Text, default="")
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    approval_id: Mapped[int | None] = mapped_column(Integer, default=None)
    script_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    acked_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    result_at: Mapped[datetime | None] = mapped_column(default=None)
    deadline_at: Mapped[datetime | None] = mapped_column(default=None)
