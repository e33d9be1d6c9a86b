"""Approval decisions: approve (and run exactly the approved args, once, under today's rules), deny, expire, list.

An approver may not approve their own request, nor one made on their behalf. Claiming a pending
approval is a conditional UPDATE (``WHERE status = 'pending'``), so two approvers clicking at the
same moment cannot run it twice.

Two-person approval (a policy's ``approvals_required = 2``): the first approval is recorded with a
conditional UPDATE too (``WHERE status = 'pending' AND first_approver_user_id IS NULL``) and the
request stays pending; the second, from a different person, claims it as above and runs it. The
requester is never one of the two; with ``admin_required`` at least one of them is an admin.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.audit import SYSTEM_ACTOR, AuditEvent
from hub.core.caller import Caller
from hub.core.db import get_in_org, utcnow
from hub.core.errors import Conflict, NotFound, PermissionDenied, RmmHubError
from hub.core.roles import Role
from policies import voiding
from policies.models import Approval, ApprovalStatus
from policies.outcome import InvocationStatus
from policies.pipeline import Gate
from policies.voiding import announce, audit_step


async def get_approval(session: AsyncSession, org_id: int, approval_id: int) -> Approval:
    """One approval of the organisation, or :class:`NotFound`."""
    approval = await get_in_org(session, Approval, approval_id, org_id)
    if approval is None:
        raise NotFound(f"approval #{approval_id} does not exist")
    return approval


async def list_approvals(
    session: AsyncSession, org_id: int, *, status: ApprovalStatus | None = None, limit: int = 200
) -> Sequence[Approval]:
    """Approvals of the organisation, newest first, optionally of one status."""
    stmt = select(Approval).where(Approval.org_id == org_id)
    if status is not None:
        stmt = stmt.where(Approval.status == status)
    return (await session.execute(stmt.order_by(Approval.id.desc()).limit(limit))).scalars().all()


def _check_decider(approver: Caller, approval: Approval) -> None:
    if not approver.can(Role.APPROVER):
        raise PermissionDenied("only approvers and admins can decide approvals")
    if approver.user_id is not None and approver.user_id in (approval.requester_user_id, approval.on_behalf_of_user_id):
        raise PermissionDenied(f"you cannot decide approval #{approval.id}: it is your own request")


def _check_second(approver: Caller, approval: Approval) -> None:
    """Rules of the approval that completes a two-person request."""
    if approver.user_id is None:
        raise PermissionDenied(f"approval #{approval.id} needs two people; it must be approved by signed-in users")
    if approver.user_id == approval.first_approver_user_id:
        raise PermissionDenied(f"you already approved #{approval.id}; it needs a second approval from someone else")
    first_is_admin = approval.first_approver_role == Role.ADMIN.value
    if approval.admin_required and not first_is_admin and not approver.can(Role.ADMIN):
        raise PermissionDenied(f"approval #{approval.id} needs one of its two approvals from an admin")


async def _first_approval(session: AsyncSession, approval: Approval, approver: Caller, note: str) -> bool:
    """Record the first of two approvals; False (and the approval now ``expired``) when past its deadline."""
    if approver.user_id is None:
        raise PermissionDenied(f"approval #{approval.id} needs two people; it must be approved by signed-in users")
    if approval.status is not ApprovalStatus.PENDING:
        raise Conflict(f"approval #{approval.id} is already {approval.status.value}")
    now = utcnow()
    if approval.expires_at <= now:
        await expire_one(session, approval)
        await session.refresh(approval)
        return False
    marked = await session.execute(
        update(Approval)
        .where(
            Approval.id == approval.id,
            Approval.status == ApprovalStatus.PENDING,
            Approval.first_approver_user_id.is_(None),
        )
        .values(
            first_approver_user_id=approver.user_id,
            first_approver_label=approver.label,
            first_approver_role=approver.role.value,
            first_approved_at=now,
            decision_note=note,
        )
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"approval #{approval.id} was approved by someone else just now; reload and approve it second")
    await session.refresh(approval)
    return True


def expired_message(approval: Approval) -> str:
    """What an approver is told when deciding an expired request."""
    return (
        f"approval #{approval.id} expired at {approval.expires_at:%Y-%m-%d %H:%M} UTC; ask the requester to ask again"
    )


async def _claim(
    session: AsyncSession, approval: Approval, approver: Caller, status: ApprovalStatus, note: str
) -> bool:
    """Move a pending approval to ``status``; False (and the approval now ``expired``) when past its deadline."""
    now = utcnow()
    if approval.status is not ApprovalStatus.PENDING:
        raise Conflict(f"approval #{approval.id} is already {approval.status.value}")
    if approval.expires_at <= now:
        await expire_one(session, approval)
        await session.refresh(approval)
        return False
    # The first approval read must still be the one recorded (two-person requests): no one swaps it meanwhile.
    first = Approval.first_approver_user_id
    same_first = (
        first.is_(None) if approval.first_approver_user_id is None else first == approval.first_approver_user_id
    )
    claimed = await session.execute(
        update(Approval)
        .where(Approval.id == approval.id, Approval.status == ApprovalStatus.PENDING, same_first)
        .values(
            status=status,
            decided_by_user_id=approver.user_id,
            decided_by_label=approver.label,
            decided_at=now,
            decision_note=note,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"approval #{approval.id} was decided by someone else just now")
    await session.refresh(approval)
    return True


def _announce(session: AsyncSession, gate: Gate, approval: Approval) -> None:
    announce(session, gate.bus, approval)


_audit = audit_step


async def approve(session: AsyncSession, gate: Gate, *, approver: Caller, approval_id: int, note: str = "") -> Approval:
    """Approve a pending request and run it now with exactly the approved args.

    A two-person request's first approval is only recorded (it stays ``pending``, "1 of 2"); the
    second, from someone else, runs it. Returns the approval; its status is ``expired`` (and nothing
    ran) when it was past its deadline.
    """
    approval = await get_approval(session, approver.org_id, approval_id)
    _check_decider(approver, approval)
    if approval.approvals_required >= 2 and approval.first_approver_user_id is None:
        if await _first_approval(session, approval, approver, note):
            _audit(session, approval, AuditEvent.APPROVAL_APPROVED, approver.actor, "approved 1 of 2", note=note)
        _announce(session, gate, approval)
        return approval
    if approval.approvals_required >= 2:
        _check_second(approver, approval)
    if not await _claim(session, approval, approver, ApprovalStatus.APPROVED, note):
        _announce(session, gate, approval)
        return approval
    step = "approved 2 of 2" if approval.approvals_required >= 2 else "approved"
    _audit(session, approval, AuditEvent.APPROVAL_APPROVED, approver.actor, step, note=note)
    try:
        outcome = await gate.run_approved(session, approval, approver=approver)
    except RmmHubError as exc:
        approval.status, approval.error = ApprovalStatus.FAILED, exc.message
        _audit(session, approval, AuditEvent.APPROVAL_FAILED, approver.actor, "failed", error=exc.message)
    else:
        approval.result = outcome.result
        if outcome.status is InvocationStatus.DONE:
            approval.status = ApprovalStatus.EXECUTED
        else:
            approval.status, approval.error = ApprovalStatus.FAILED, outcome.message
    approval.executed_at = utcnow()
    await session.flush()
    _announce(session, gate, approval)
    return approval


async def deny(session: AsyncSession, gate: Gate, *, approver: Caller, approval_id: int, note: str = "") -> Approval:
    """Deny a pending request; nothing runs. An expired request stays ``expired``."""
    approval = await get_approval(session, approver.org_id, approval_id)
    _check_decider(approver, approval)
    if not await _claim(session, approval, approver, ApprovalStatus.DENIED, note):
        _announce(session, gate, approval)
        return approval
    _audit(session, approval, AuditEvent.APPROVAL_DENIED, approver.actor, "denied", note=note)
    _announce(session, gate, approval)
    return approval


async def expire_one(session: AsyncSession, approval: Approval) -> bool:
    """Mark one pending approval expired (if it still is pending); audited."""
    done = await session.execute(
        update(Approval)
        .where(Approval.id == approval.id, Approval.status == ApprovalStatus.PENDING)
        .values(status=ApprovalStatus.EXPIRED, decided_at=utcnow(), decided_by_label="system (expired)")
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    _audit(session, approval, AuditEvent.APPROVAL_EXPIRED, SYSTEM_ACTOR, "expired")
    return True


async def expire_due(session: AsyncSession, gate: Gate) -> int:
    """Expire every pending approval past its deadline; returns how many (a scheduled job)."""
    due = (
        (
            await session.execute(
                select(Approval).where(Approval.status == ApprovalStatus.PENDING, Approval.expires_at <= utcnow())
            )
        )
        .scalars()
        .all()
    )
    count = 0
    for approval in due:
        if await expire_one(session, approval):
            count += 1
            await session.refresh(approval)
            _announce(session, gate, approval)
    return count


async def fail_pending_for_tool(
    session: AsyncSession, gate: Gate, *, org_id: int | None, tool_id: str, why: str
) -> int:
    """Fail pending approvals of a tool that disappeared (e.g. a removed script), with a clear error."""
    return await voiding.fail_pending_for_tool(session, gate.bus, org_id=org_id, tool_id=tool_id, why=why)
