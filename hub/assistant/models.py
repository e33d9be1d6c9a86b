"""Tables of the assistant: conversations, what was said and done in them, and runs paused on an approval.

The model's message history lives here (``messages``, pydantic-ai's own JSON), never in the browser;
a client sends only its new text. ``AssistantEntry`` rows are what a reader sees: prompts, replies
and one row per tool call (tool, arguments, policy, status, approval, result).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class EntryKind(StrEnum):
    """What an entry of a conversation is."""

    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class StepStatus(StrEnum):
    """How one tool call ended (``pending_approval`` until the approver decides)."""

    DONE = "done"
    PENDING_APPROVAL = "pending_approval"
    REFUSED = "refused"
    FAILED = "failed"
    RETRIED = "retried"
    DENIED = "denied"
    PLANNED = "planned"


class PausedStatus(StrEnum):
    """A run paused on approvals: waiting, being resumed (claimed by one replica), or done."""

    WAITING = "waiting"
    RESUMING = "resuming"
    RESUMED = "resumed"


def _enum(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Conversation(Base):
    """One chat of one user; the model's message history is stored server-side."""

    __tablename__ = "assistant_conversations"
    __table_args__ = (Index("ix_assistant_conversations_org_user", "org_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="")
    #: pydantic-ai ``ModelMessagesTypeAdapter`` JSON of the closed history (no dangling tool calls).
    messages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: What the built-in model remembers between turns (last devices, script and ticket referred to).
    memory: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssistantEntry(Base):
    """A prompt, a reply or a tool call of a conversation, in order."""

    __tablename__ = "assistant_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("assistant_conversations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind))
    text: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[bool] = mapped_column(Boolean, default=False)
    tool_call_id: Mapped[str | None] = mapped_column(String(120), default=None)
    tool: Mapped[str | None] = mapped_column(String(200), default=None)
    args: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    policy: Mapped[str | None] = mapped_column(String(20), default=None)
    status: Mapped[StepStatus | None] = mapped_column(_enum(StepStatus), default=None, nullable=True)
    approval_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    result: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PausedRun(Base):
    """A run that ended on approval requests: its full (dangling) history, resumed once all are decided."""

    __tablename__ = "assistant_paused_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("assistant_conversations.id", ondelete="CASCADE"), index=True
    )
    messages: Mapped[list[Any]] = mapped_column(JSON)
    #: ``{tool_call_id: approval_id}`` of the calls waiting.
    approvals: Mapped[dict[str, int]] = mapped_column(JSON)
    tools: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[PausedStatus] = mapped_column(_enum(PausedStatus), default=PausedStatus.WAITING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
