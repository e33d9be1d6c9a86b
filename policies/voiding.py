"""Failing pending approvals that can no longer be allowed, at the moment they stop being allowable.

A tool set to ``never`` or removed, a requester disabled or demoted: their pending approvals fail
at once with a note saying why, so approvers never see (or click) a request that today's rules
forbid. The gate re-checks the same rules when an approval runs; this makes the queue honest too.
Kept apart from :mod:`policies.approvals` so the policy service can use it without importing the gate.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import SYSTEM_ACTOR, Actor, AuditEvent
from hub.core.db import utcnow
from hub.core.events import Event, EventBus, publish_after_commit
from hub.core.jsonutil import sha256_of
from hub.core.roles import Role
from policies.models import Approval, ApprovalStatus


def audit_step(
    session: AsyncSession, approval: Approval, event: AuditEvent, actor: Actor, outcome: str, **detail: object
) -> None:
    """Record one step of an approval's life in the audit log."""
    audit.record(
        session,
        event=event,
        actor=actor,
        org_id=approval.org_id,
        tool_id=approval.tool_id,
        approval_id=approval.id,
        args_sha256=sha256_of(approval.args),
        outcome=outcome,
        detail=dict(detail),
    )


def announce(session: AsyncSession, bus: EventBus | None, approval: Approval) -> None:
    """Tell live pages (every replica) that the approval was decided, once the session commits."""
    if bus is None:
        return
    publish_after_commit(
        session,
        bus,
        Event(
            topic="approval.decided",
            org_id=approval.org_id,
            data={"approval_id": approval.id, "status": approval.status.value, "tool": approval.tool_id},
        ),
    )


async def fail_pending(
    session: AsyncSession, bus: EventBus | None, *, where: ColumnElement[bool], org_id: int | None, why: str
) -> int:
    """Fail every pending approval matching ``where`` (in ``org_id`` when given); audited, announced."""
    stmt = select(Approval).where(Approval.status == ApprovalStatus.PENDING, where)
    if org_id is not None:
        stmt = stmt.where(Approval.org_id == org_id)
    count = 0
    for approval in (await session.execute(stmt.order_by(Approval.id))).scalars().all():
        approval.status, approval.error, approval.decided_at = ApprovalStatus.FAILED, why, utcnow()
        approval.decided_by_label = "system"
        audit_step(session, approval, AuditEvent.APPROVAL_FAILED, SYSTEM_ACTOR, "failed", error=why)
        announce(session, bus, approval)
        count += 1
    await session.flush()
    return count


async def fail_pending_for_tool(
    session: AsyncSession, bus: EventBus | None, *, org_id: int | None, tool_id: str, why: str
) -> int:
    """Fail pending approvals of a tool, or asked through it (a runner), that can no longer run."""
    where = or_(Approval.tool_id == tool_id, Approval.via_tool_id == tool_id)
    return await fail_pending(session, bus, where=where, org_id=org_id, why=why)


async def fail_pending_for_user(
    session: AsyncSession, bus: EventBus | None, *, user_id: int, below: Role | None = None, why: str
) -> int:
    """Fail pending approvals requested by (or on behalf of) a user.

    With ``below``, only those requested with a role above it (the user was demoted to ``below``).
    """
    where: ColumnElement[bool] = or_(Approval.requester_user_id == user_id, Approval.on_behalf_of_user_id == user_id)
    if below is not None:
        higher = [r.value for r in Role if r.rank > below.rank]
        where = where & Approval.requester_role.in_(higher)
    return await fail_pending(session, bus, where=where, org_id=None, why=why)
