"""Tables of the policy layer: per-organisation tool policies and approval requests."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class PolicyMode(StrEnum):
    """What happens when a tool is invoked: run now, wait for an approver, or refuse."""

    AUTO = "auto"
    APPROVAL = "approval"
    NEVER = "never"


class PolicyOrigin(StrEnum):
    """Who set a policy: the default classifier, or an admin override."""

    CLASSIFIER = "classifier"
    ADMIN = "admin"


class ApprovalStatus(StrEnum):
    """Life of an approval request. Only ``pending`` can be decided; ``approved`` runs at once."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    EXECUTED = "executed"
    FAILED = "failed"


def _enum(cls: type[StrEnum], length: int = 20) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class ToolPolicy(Base):
    """The policy of one tool in one organisation, with the reason it has that mode."""

    __tablename__ = "tool_policies"
    __table_args__ = (UniqueConstraint("org_id", "tool_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    tool_id: Mapped[str] = mapped_column(String(200))
    mode: Mapped[PolicyMode] = mapped_column(_enum(PolicyMode))
    origin: Mapped[PolicyOrigin] = mapped_column(_enum(PolicyOrigin))
    reason: Mapped[str] = mapped_column(Text)
    classifier_mode: Mapped[PolicyMode] = mapped_column(_enum(PolicyMode))
    classifier_reason: Mapped[str] = mapped_column(Text)
    updated_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Per-role overrides of ``mode`` (role value -> mode value), e.g. ``{"admin": "auto"}``.
    role_modes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: How many different people must approve (1 or 2); the requester is never one of them.
    approvals_required: Mapped[int] = mapped_column(Integer, default=1)
    #: With two approvals: one of the approvers must be an admin.
    admin_required: Mapped[bool] = mapped_column(Boolean, default=False)

    def mode_for(self, role: str) -> PolicyMode:
        """The effective mode for a caller of ``role``: its role override, else the tool's mode."""
        override = (self.role_modes or {}).get(role)
        return PolicyMode(override) if override else self.mode

    @property
    def source(self) -> str:
        """The tool source part of the id (``native_rmm``, ``connectwise_rmm``, ...)."""
        return self.tool_id.split(":", 1)[0]


class Approval(Base):
    """A request to run a tool with exact arguments, waiting for (or past) an approver's decision."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_org_status", "org_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    tool_id: Mapped[str] = mapped_column(String(200), index=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: HMAC-SHA256 of the request (org, tool, door, requester, args) keyed from the secret key.
    args_digest: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    requester_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    requester_label: Mapped[str] = mapped_column(String(200))
    requester_role: Mapped[str] = mapped_column(String(20))
    requested_via: Mapped[str] = mapped_column(String(20))
    on_behalf_of_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[ApprovalStatus] = mapped_column(_enum(ApprovalStatus), default=ApprovalStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    decided_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    decided_by_label: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    executed_at: Mapped[datetime | None] = mapped_column(default=None)
    result: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The generic runner the request came through when the target tool's policy asked for approval.
    via_tool_id: Mapped[str | None] = mapped_column(String(200), default=None)
    #: What will run, in words and with names (written by the tool's ``describe`` hook when requested).
    description: Mapped[str] = mapped_column(Text, default="")
    #: The same as structured data (:class:`hub.core.describe.Description`) for the approval card.
    description_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, default=None)
    #: Two-person approval: how many approvals it needs, whether one must be an admin's, and the first one.
    approvals_required: Mapped[int] = mapped_column(Integer, default=1)
    admin_required: Mapped[bool] = mapped_column(Boolean, default=False)
    first_approver_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    first_approver_label: Mapped[str | None] = mapped_column(String(200), default=None)
    first_approver_role: Mapped[str | None] = mapped_column(String(20), default=None)
    first_approved_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def approvals_given(self) -> int:
        """How many approvals a pending request has so far (the final one moves it out of ``pending``)."""
        return 1 if self.first_approver_user_id is not None else 0

    @property
    def tool_name(self) -> str:
        """The LLM-facing name (after the colon)."""
        return self.tool_id.split(":", 1)[-1]

    @property
    def via_tool_name(self) -> str | None:
        """The LLM-facing name of the runner the request came through, if any."""
        return self.via_tool_id.split(":", 1)[-1] if self.via_tool_id else None
