"""Wire models of the tools, policies and approvals REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from hub.core.describe import Description
from hub.core.registry import Tool, ToolAnnotations
from hub.core.roles import Role
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
    role_modes: dict[Role, PolicyMode] = Field(description="per-role modes that differ from `mode`")
    effective: dict[Role, PolicyMode] = Field(description="the mode each role gets")
    approvals_required: int = Field(description="1, or 2 for two-person approval")
    admin_required: bool = Field(description="with two approvals: one of them must be an admin")

    @classmethod
    def of(cls, policy: ToolPolicy) -> PolicyOut:
        """Build from the ORM row."""
        return cls(
            tool=policy.tool_id,
            source=policy.source,
            role_modes={Role(r): PolicyMode(m) for r, m in (policy.role_modes or {}).items()},
            effective={r: policy.mode_for(r.value) for r in Role},
            approvals_required=policy.approvals_required,
            admin_required=policy.admin_required,
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
    output_schema: dict[str, Any]
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
            output_schema=tool.output_schema,
            annotations=tool.annotations,
            min_role=tool.min_role.value,
            policy=PolicyOut.of(policy),
        )


class PolicyUpdate(BaseModel):
    """Body of ``PUT /api/v1/policies/{tool}``: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    mode: PolicyMode | None = Field(default=None, description="the mode for every role without its own")
    role_modes: dict[Role, PolicyMode | None] | None = Field(
        default=None, description='per-role modes, e.g. {"admin": "auto"}; null drops a role\'s override'
    )
    approvals_required: Annotated[int, Field(ge=1, le=2)] | None = Field(
        default=None, description="2 = two-person approval"
    )
    admin_required: bool | None = Field(default=None, description="with two approvals, one must be an admin")
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
    description: str = Field(description="what will run, in words with names (stored when it was requested)")
    description_detail: Description | None = Field(description="the same, structured (targets, body, params)")
    approvals_required: int = Field(description="1, or 2 for a two-person approval")
    approvals_given: int = Field(description='approvals so far while pending ("1 of 2")')
    admin_required: bool
    first_approver: str | None = Field(description="who gave the first of two approvals")

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
            description=a.description,
            description_detail=Description.model_validate(a.description_detail) if a.description_detail else None,
            approvals_required=a.approvals_required,
            approvals_given=a.approvals_given,
            admin_required=a.admin_required,
            first_approver=a.first_approver_label,
        )
