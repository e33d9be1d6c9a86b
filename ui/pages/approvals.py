"""The approvals queue of the policy dashboard: pending requests, decisions, recently decided."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.roles import Role
from native_rmm.commands.history import command_history
from policies import approvals as approvals_service
from policies.deps import GateDep
from policies.models import ApprovalStatus
from policies.queries import approval_queue
from ui.page import PageDep, is_htmx, render

router = APIRouter(include_in_schema=False)


async def queue_context(session: DbSession, org_id: int) -> dict[str, Any]:
    """The template context of the queue (``pending``, ``decided``)."""
    queue = await approval_queue(session, org_id)
    return {"pending": queue.pending, "decided": queue.decided}


@router.get("/policies/approvals")
async def queue(page: PageDep, session: SessionDep) -> HTMLResponse:
    """The queue fragment (re-rendered on every live ``approvals-changed`` trigger)."""
    return render(page, "policies/_approvals.html", **await queue_context(session, page.org.id))


@router.get("/policies/approvals/{approval_id}/output")
async def approval_output(approval_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """What an executed approval ran on devices: its commands with status, exit code and output."""
    approval = await approvals_service.get_approval(session, page.org.id, approval_id)
    history = await command_history(session, org_id=page.org.id, approval_id=approval.id)
    return render(page, "policies/_approval_output.html", approval=approval, history=history)


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
