"""Read services of the approvals queue, for the pages (and later the assistant): nothing here writes.

The approval queue of the policy dashboard, the sidebar's pending count, and the typed result of an
executed approval (the stored JSON read back as the tool's declared result type).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.errors import RmmHubError
from hub.core.models import User
from hub.core.registry import ToolRegistry
from hub.core.roles import Role
from policies.approvals import list_approvals
from policies.models import Approval, ApprovalStatus

PENDING_LIMIT = 200
DECIDED_LIMIT = 25


@dataclass(frozen=True)
class ApprovalQueue:
    """Pending approvals (oldest first: the longest waiting on top) and the recently decided ones."""

    pending: list[Approval]
    decided: Sequence[Approval]


async def approval_queue(session: AsyncSession, org_id: int) -> ApprovalQueue:
    """The queue of the policy dashboard."""
    pending = await list_approvals(session, org_id, status=ApprovalStatus.PENDING, limit=PENDING_LIMIT)
    stmt = (
        select(Approval)
        .where(Approval.org_id == org_id, Approval.status != ApprovalStatus.PENDING)
        .order_by(Approval.decided_at.desc().nulls_last(), Approval.id.desc())
        .limit(DECIDED_LIMIT)
    )
    decided = (await session.execute(stmt)).scalars().all()
    return ApprovalQueue(pending=list(reversed(pending)), decided=decided)


async def pending_count(session: AsyncSession, org_id: int) -> int:
    """Pending approvals of an organisation (the sidebar badge)."""
    stmt = (
        select(func.count())
        .select_from(Approval)
        .where(Approval.org_id == org_id, Approval.status == ApprovalStatus.PENDING)
    )
    return int((await session.execute(stmt)).scalar_one())


async def other_approvers(session: AsyncSession, org_id: int, user_id: int) -> int:
    """Active users of the organisation, besides ``user_id``, who can decide approvals (approver or admin).

    Zero means a lone user: every approval-gated action waits for a second person who does not exist yet.
    """
    stmt = (
        select(func.count())
        .select_from(User)
        .where(
            User.org_id == org_id,
            User.id != user_id,
            User.disabled.is_(False),
            User.role.in_([Role.APPROVER, Role.ADMIN]),
        )
    )
    return int((await session.execute(stmt)).scalar_one())


def executed_result(registry: ToolRegistry, approval: Approval) -> Any:
    """The result of an executed approval as its tool's result type; None when it did not run (or the
    tool, or its result type, has changed since: the stored JSON is then not trusted to be that type)."""
    if approval.status is not ApprovalStatus.EXECUTED or approval.result is None:
        return None
    try:
        return registry.resolve(approval.tool_id, approval.org_id).load_result(approval.result)
    except RmmHubError:
        return None
