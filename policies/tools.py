"""Tools of the policies module: a caller follows its own approval requests (``hub-get-approval``).

Registered through the registry like every tool, so it is listed, gated and audited the same way;
an MCP client, the CLI or the assistant read the decision with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.core.bounds import Id
from hub.core.errors import NotFound
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from policies.approvals import get_approval
from policies.models import Approval, ApprovalStatus

SOURCE = "policies"
GET_APPROVAL = "hub-get-approval"
#: How a client refers to one approval as an MCP resource.
APPROVAL_URI = "rmmhub://approvals/{id}"


class GetApprovalArgs(BaseModel):
    """Arguments of ``hub-get-approval``."""

    model_config = ConfigDict(extra="forbid")

    approval_id: Id = Field(description="the approval id a pending call returned")


class ApprovalReport(BaseModel):
    """Where an approval request stands, in words and as data."""

    approval_id: int
    tool: str
    status: ApprovalStatus
    description: str = Field(description="what was asked, readably")
    summary: str = Field(description="one sentence: pending / approved and ran / denied with the note / expired")
    requester: str
    reason: str = Field(default="", description="why the requester asked")
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decision_note: str = ""
    result: Any = Field(default=None, description="the tool's result once it ran (its output schema)")
    error: str | None = None
    resource_uri: str
    follow: str = Field(description="how to follow the request")


def describe(approval: Approval) -> str:
    """The readable description of a request (the stored one when the hub keeps one, else a summary)."""
    if approval.description.strip():
        return approval.description
    args = ", ".join(f"{k}={v!r}" for k, v in sorted(approval.args.items()))
    via = f" (asked through {approval.via_tool_name})" if approval.via_tool_id else ""
    why = f" because: {approval.reason}" if approval.reason else ""
    return f"{approval.requester_label} asks to run {approval.tool_name}({args}){via}{why}"


def _summary(a: Approval) -> str:
    who = a.decided_by_label or "an approver"
    note = f" (note: {a.decision_note})" if a.decision_note else ""
    match a.status:
        case ApprovalStatus.PENDING:
            return f"approval #{a.id} is pending: an approver must allow {a.tool_name} before it runs"
        case ApprovalStatus.EXECUTED:
            return f"approval #{a.id} was approved by {who}{note} and {a.tool_name} ran"
        case ApprovalStatus.APPROVED:
            return f"approval #{a.id} was approved by {who}{note}; {a.tool_name} is running"
        case ApprovalStatus.FAILED:
            return f"approval #{a.id}: {a.tool_name} did not complete: {a.error or 'failed'}"
        case ApprovalStatus.DENIED:
            return f"approval #{a.id} was denied by {who}{note}"
        case ApprovalStatus.EXPIRED:
            return f"approval #{a.id} expired at {a.expires_at:%Y-%m-%d %H:%M} UTC before anyone decided; ask again"


def report(approval: Approval) -> ApprovalReport:
    """The report of one approval (what ``hub-get-approval`` and the MCP resource answer)."""
    uri = APPROVAL_URI.format(id=approval.id)
    return ApprovalReport(
        approval_id=approval.id,
        tool=approval.tool_id,
        status=approval.status,
        description=describe(approval),
        summary=_summary(approval),
        requester=approval.requester_label,
        reason=approval.reason,
        created_at=approval.created_at,
        expires_at=approval.expires_at,
        decided_by=approval.decided_by_label,
        decision_note=approval.decision_note,
        result=approval.result,
        error=approval.error,
        resource_uri=uri,
        follow=f'call {GET_APPROVAL} with {{"approval_id": {approval.id}}} or read the resource {uri}',
    )


async def get_approval_report(ctx: ToolContext, args: GetApprovalArgs) -> ApprovalReport:
    """Report where one of your approval requests stands: pending, approved and ran (with its result), denied
    (with the approver's note) or expired. Approvers and admins may follow any request of the organisation."""
    approval = await get_approval(ctx.session, ctx.org_id, args.approval_id)
    mine = ctx.caller.user_id is not None and ctx.caller.user_id in (
        approval.requester_user_id,
        approval.on_behalf_of_user_id,
    )
    if not mine and not ctx.caller.can(Role.APPROVER):
        raise NotFound(f"approval #{args.approval_id} does not exist")
    return report(approval)


def policy_tools() -> list[Tool]:
    """The tools of the policies module."""
    return [
        model_tool(
            source=SOURCE,
            name=GET_APPROVAL,
            args_model=GetApprovalArgs,
            handler=get_approval_report,
            annotations=ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False),
            min_role=Role.VIEWER,
            title="Get approval",
            category="approvals",
        )
    ]
