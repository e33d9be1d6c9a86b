"""REST API of tickets: reads directly, changes through the policy gate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.core.bounds import Count, Id
from hub.core.deps import ApiCallerDep, SessionDep
from native_rmm.models.tickets import TicketPriority, TicketStatus
from native_rmm.tickets import service
from native_rmm.tickets.schemas import CreateTicketArgs, TicketDetail, TicketSummary, UpdateTicketArgs
from policies.deps import GateDep
from policies.routes import GATED_RESPONSES, outcome_response

router = APIRouter(prefix="/api/v1/rmm/tickets", tags=["rmm-tickets"])


class CreateTicketRequest(CreateTicketArgs):
    """Body of ``POST /api/v1/rmm/tickets``."""

    reason: str = Field(default="", max_length=2000)


class UpdateTicketRequest(UpdateTicketArgs):
    """Body of ``PATCH /api/v1/rmm/tickets/{id}`` (``ticket_id`` comes from the path)."""

    ticket_id: Count = 0
    reason: str = Field(default="", max_length=2000)


class CommentRequest(BaseModel):
    """Body of ``POST /api/v1/rmm/tickets/{id}/comments``."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=20000)
    reason: str = Field(default="", max_length=2000)


@router.get("", response_model=list[TicketSummary])
async def list_tickets(
    session: SessionDep,
    caller: ApiCallerDep,
    status: TicketStatus | None = None,
    active: bool = False,
    priority: TicketPriority | None = None,
    customer_id: Id | None = None,
    device_id: Id | None = None,
    assignee_user_id: Id | None = None,
    q: str | None = Query(default=None, max_length=200),
    before_id: Id | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[TicketSummary]:
    """Tickets of the organisation, newest first (``active=true``: open, in progress or waiting)."""
    rows = await service.list_tickets(
        session, org_id=caller.org_id, status=status, active_only=active, priority=priority,
        customer_id=customer_id, device_id=device_id,
        assignee_user_id=assignee_user_id, search=q, before_id=before_id, limit=limit,
    )  # fmt: skip
    return await service.summaries(session, rows)


@router.get("/{ticket_id}", response_model=TicketDetail)
async def get_ticket(ticket_id: Id, session: SessionDep, caller: ApiCallerDep) -> TicketDetail:
    """One ticket with references and comments."""
    return await service.detail(session, await service.get_ticket(session, org_id=caller.org_id, ticket_id=ticket_id))


@router.post("", responses=GATED_RESPONSES)
async def create_ticket(
    body: CreateTicketRequest, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Create through the gate (tool ``rmm-create-ticket``): 200 done, 202 pending approval."""
    args: dict[str, Any] = body.model_dump(mode="json", exclude={"reason"}, exclude_unset=True)
    return outcome_response(await gate.invoke(session, caller, "rmm-create-ticket", args, reason=body.reason))


@router.patch("/{ticket_id}", responses=GATED_RESPONSES)
async def update_ticket(
    ticket_id: Id, body: UpdateTicketRequest, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Update through the gate (tool ``rmm-update-ticket``); only the fields sent change."""
    args: dict[str, Any] = body.model_dump(mode="json", exclude={"reason", "ticket_id"}, exclude_unset=True)
    args["ticket_id"] = ticket_id
    return outcome_response(await gate.invoke(session, caller, "rmm-update-ticket", args, reason=body.reason))


@router.post("/{ticket_id}/comments", responses=GATED_RESPONSES)
async def comment_ticket(
    ticket_id: Id, body: CommentRequest, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Comment through the gate (tool ``rmm-comment-ticket``)."""
    args = {"ticket_id": ticket_id, "body": body.body}
    return outcome_response(await gate.invoke(session, caller, "rmm-comment-ticket", args, reason=body.reason))
