"""Wire models of the tools, policies and approvals REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.core.registry import Tool, ToolAnnotations
from policies.models import Approval, ApprovalStatus, PolicyMode, PolicyOrigin, ToolPolicy


class InvokeRequest(BaseModel):
    """Body of ``POST /api/v1/tools/{name}/invoke``."""

    model_config = ConfigDict(extra="forbid")

    args: dict[str, Any] = Field(default_factory=dict, description="arguments matching the tool's input schema")
    reason: str = Field(default="", max_length=2000, description="why; shown to the approver")


class PolicyOut(BaseModel):
    """A tool's policy in one organisation."""

    tool: str
    source: str
    mode: PolicyMode
    origin: PolicyOrigin
    reason: str
    classifier_mode: PolicyMode
    classifier_reason: str
    updated_at: datetime

    @classmethod
    def of(cls, policy: ToolPolicy) -> PolicyOut:
        """Build from the ORM row."""
        return cls(
            tool=policy.tool_id,
            source=policy.source,
            mode=policy.mode,
            origin=policy.origin,
            reason=policy.reason,
            classifier_mode=policy.classifier_mode,
            classifier_reason=policy.classifier_reason,
            updated_at=policy.updated_at,
        )


class ToolOut(BaseModel):
    """A tool as listed to a caller, with its effective policy."""

    id: str
    name: str
    source: str
    title: str
    category: str
    description: str
    input_schema: dict[str, Any]
    annotations: ToolAnnotations
    min_role: str
    policy: PolicyOut

    @classmethod
    def of(cls, tool: Tool, policy: ToolPolicy) -> ToolOut:
        """Build from a registry tool and its policy."""
        return cls(
            id=tool.id,
            name=tool.name,
            source=tool.source,
            title=tool.title,
            category=tool.category,
            description=tool.description,
            input_schema=tool.input_schema,
            annotations=tool.annotations,
            min_role=tool.min_role.value,
            policy=PolicyOut.of(policy),
        )


class PolicyUpdate(BaseModel):
    """Body of ``PUT /api/v1/policies/{tool}``."""

    model_config = ConfigDict(extra="forbid")

    mode: PolicyMode
    note: str = Field(default="", max_length=500)


class DecisionRequest(BaseModel):
    """Body of ``POST /api/v1/approvals/{id}/approve|deny``."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000)


class ApprovalOut(BaseModel):
    """An approval request and, once decided, its decision and result."""

    id: int
    tool: str
    tool_name: str
    via_tool: str | None = Field(description="the generic runner the request came through, if any")
    args: dict[str, Any]
    args_digest: str = Field(description="HMAC-SHA256 binding tool, door, requester and args (checked before running)")
    reason: str
    requester: str
    requested_via: str
    on_behalf_of_user_id: int | None
    status: ApprovalStatus
    created_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str
    executed_at: datetime | None
    result: Any
    error: str | None

    @classmethod
    def of(cls, a: Approval) -> ApprovalOut:
        """Build from the ORM row."""
        return cls(
            id=a.id,
            tool=a.tool_id,
            tool_name=a.tool_name,
            via_tool=a.via_tool_id,
            args=a.args,
            args_digest=a.args_digest,
            reason=a.reason,
            requester=a.requester_label,
            requested_via=a.requested_via,
            on_behalf_of_user_id=a.on_behalf_of_user_id,
            status=a.status,
            created_at=a.created_at,
            expires_at=a.expires_at,
            decided_by=a.decided_by_label,
            decided_at=a.decided_at,
            decision_note=a.decision_note,
            executed_at=a.executed_at,
            result=a.result,
            error=a.error,
        )
