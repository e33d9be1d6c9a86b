"""The approvals queue of the policy dashboard: pending requests, decisions, recently decided."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.bounds import Id
from hub.core.deps import SessionDep
from hub.core.roles import Role
from policies import approvals as approvals_service
from policies.deps import GateDep
from policies.models import Approval, ApprovalStatus
from ui.page import PageDep, is_htmx, render

router = APIRouter(include_in_schema=False)

PENDING_LIMIT = 200
DECIDED_LIMIT = 25


async def queue_context(session: AsyncSession, org_id: int) -> dict[str, Any]:
    """Pending approvals (oldest first: the longest waiting on top) and the recently decided ones."""
    pending = await approvals_service.list_approvals(
        session, org_id, status=ApprovalStatus.PENDING, limit=PENDING_LIMIT
    )
    stmt = (
        select(Approval)
        .where(Approval.org_id == org_id, Approval.status != ApprovalStatus.PENDING)
        .order_by(Approval.decided_at.desc().nulls_last(), Approval.id.desc())
        .limit(DECIDED_LIMIT)
    )
    decided: Sequence[Approval] = (await session.execute(stmt)).scalars().all()
    return {"pending": list(reversed(pending)), "decided": decided}


@router.get("/policies/approvals")
async def queue(page: PageDep, session: SessionDep) -> HTMLResponse:
    """The queue fragment (re-rendered on every live ``approvals-changed`` trigger)."""
    return render(page, "policies/_approvals.html", **await queue_context(session, page.org.id))


@router.post("/policies/approvals/{approval_id}/decide")
async def decide(
    approval_id: Id,
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    decision: Annotated[Literal["approve", "deny"], Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Approve (and run) or deny a pending request; the services refuse self-approval and non-approvers."""
    page.require(Role.APPROVER)
    note = note.strip()
    if decision == "approve":
        approval = await approvals_service.approve(
            session, gate, approver=page.caller, approval_id=approval_id, note=note
        )
    else:
        approval = await approvals_service.deny(session, gate, approver=page.caller, approval_id=approval_id, note=note)
    context = await queue_context(session, page.org.id)
    expired_message = approvals_service.expired_message(approval) if approval.status is ApprovalStatus.EXPIRED else ""
    if is_htmx(page.request):
        return render(
            page, "policies/_decided_response.html", approval=approval, expired_message=expired_message, **context
        )
    return render(
        page, "policies/index.html", tab="approvals", approval=approval, expired_message=expired_message, **context
    )
