"""The policies' bus topics: an approval was requested, an approval was decided (and run, or not)."""

from __future__ import annotations

from pydantic import BaseModel

from hub.core.events import Topic
from policies.models import ApprovalStatus


class ApprovalRequested(BaseModel):
    """A request waits for an approver."""

    approval_id: int
    tool: str
    requester: str


class ApprovalDecided(BaseModel):
    """An approval left ``pending``: approved and executed (or failed), denied or expired."""

    approval_id: int
    status: ApprovalStatus
    tool: str


APPROVAL_REQUESTED = Topic("approval.requested", ApprovalRequested)
APPROVAL_DECIDED = Topic("approval.decided", ApprovalDecided)


class PolicyChanged(BaseModel):
    """An admin set or reset a tool's policy (listings such as MCP ``tools/list`` may change)."""

    tool: str
    mode: str


POLICY_CHANGED = Topic("policy.changed", PolicyChanged)
