"""The Tickets tab of the RMM page (``/rmm?tab=tickets``) and the ticket page (``/rmm/tickets/{id}``).

Lists filter by status, priority, customer, device and assignee (server-side). Creating a ticket
(from this tab, a device page or an alert), commenting and changing its status invoke
``rmm-create-ticket``, ``rmm-comment-ticket`` and ``rmm-update-ticket`` through the policy gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.core.auth.service import list_users
from hub.core.bounds import DB_INT_MAX, Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from native_rmm.devices import queries as q
from native_rmm.models.tickets import TicketPriority, TicketStatus
from native_rmm.tickets import service as tickets
from native_rmm.tickets.schemas import TicketDetail
from policies.deps import GateDep
from policies.outcome import InvocationStatus
from ui.page import Page, PageDep, render
from ui.pages.rmm_actions import invoke, outcome_html

router = APIRouter(include_in_schema=False)

TICKET_PAGE = 100
STATUS_CHOICES = ["active", *[s.value for s in TicketStatus], "any"]


def _id(value: str) -> int | None:
    return int(value) if value.strip().isdigit() and 0 < int(value) <= DB_INT_MAX else None


@dataclass(frozen=True)
class TicketFilters:
    """The Tickets tab's filters from the query string (empty or unknown values mean "any")."""

    status: str = "active"
    priority: TicketPriority | None = None
    customer_id: int | None = None
    device_id: int | None = None
    assignee_user_id: int | None = None
    q: str = ""

    @classmethod
    def parse(
        cls, status: str, priority: str, customer_id: str, device_id: str, assignee: str, search: str
    ) -> TicketFilters:
        return cls(
            status=status if status in STATUS_CHOICES else "active",
            priority=TicketPriority(priority) if priority in {p.value for p in TicketPriority} else None,
            customer_id=_id(customer_id),
            device_id=_id(device_id),
            assignee_user_id=_id(assignee),
            q=search.strip()[:200],
        )


async def tickets_context(
    session: DbSession,
    page: Page,
    filters: TicketFilters,
    *,
    new: bool = False,
    device_id: int | None = None,
    alert_id: int | None = None,
) -> dict[str, Any]:
    """The ticket list (and the choices of the filters and of the new-ticket form)."""
    status = None if filters.status in ("active", "any") else TicketStatus(filters.status)
    rows = await tickets.list_tickets(
        session,
        org_id=page.org.id,
        status=status,
        active_only=filters.status == "active",
        priority=filters.priority,
        customer_id=filters.customer_id,
        device_id=filters.device_id,
        assignee_user_id=filters.assignee_user_id,
        search=filters.q or None,
        limit=TICKET_PAGE,
    )
    sites = await q.site_choices(session, org_id=page.org.id)
    customers = list({s.customer_id: s.customer_name for s in sites}.items())
    users = [u for u in await list_users(session, page.org.id) if not u.disabled]
    return {
        "tickets": await tickets.summaries(session, rows),
        "tfilters": filters,
        "statuses": STATUS_CHOICES,
        "priorities": [p.value for p in TicketPriority],
        "customers": customers,
        "sites": sites,
        "users": users,
        "new_ticket": new,
        "new_device_id": device_id,
        "new_alert_id": alert_id,
    }


FilterQuery = Annotated[str, Query(max_length=200)]


@router.get("/rmm/tickets")
async def tickets_table(
    page: PageDep,
    session: SessionDep,
    status: FilterQuery = "active",
    priority: FilterQuery = "",
    customer_id: FilterQuery = "",
    device_id: FilterQuery = "",
    assignee: FilterQuery = "",
    q_: Annotated[str, Query(alias="q", max_length=200)] = "",
) -> HTMLResponse:
    """The ticket table fragment (the filters re-render only the table)."""
    filters = TicketFilters.parse(status, priority, customer_id, device_id, assignee, q_)
    return render(page, "rmm/_tickets_table.html", **await tickets_context(session, page, filters))


@router.post("/rmm/tickets")
async def create_ticket(
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    title: Annotated[str, Form(min_length=1, max_length=300)],
    description: Annotated[str, Form(max_length=20000)] = "",
    priority: Annotated[TicketPriority, Form()] = TicketPriority.NORMAL,
    customer_id: Annotated[str, Form(max_length=20)] = "",
    site_id: Annotated[str, Form(max_length=20)] = "",
    external_ref: Annotated[str, Form(max_length=100)] = "",
    assignee: Annotated[str, Form(max_length=20)] = "",
    device_id: Annotated[str, Form(max_length=20)] = "",
    alert_id: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Invoke ``rmm-create-ticket``; when it runs, the answer opens the new ticket."""
    args: dict[str, Any] = {"title": title.strip(), "description": description.strip(), "priority": priority.value}
    optional = {"customer_id": _id(customer_id), "site_id": _id(site_id), "assignee_user_id": _id(assignee)}
    args.update({k: v for k, v in optional.items() if v is not None})
    if external_ref.strip():
        args["external_ref"] = external_ref.strip()
    if _id(device_id):
        args["device_ids"] = [_id(device_id)]
    if _id(alert_id):
        args["alert_ids"] = [_id(alert_id)]
    outcome = await invoke(page, session, gate, "rmm-create-ticket", args, reason=reason)
    created = outcome.result_as(TicketDetail)
    if created is not None:
        response = Response(status_code=204)
        response.headers["HX-Redirect"] = f"/rmm/tickets/{created.id}"
        return response
    return outcome_html(page, outcome, action="Create ticket")


async def _detail(session: DbSession, page: Page, ticket_id: int) -> TicketDetail:
    return await tickets.detail(session, await tickets.get_ticket(session, org_id=page.org.id, ticket_id=ticket_id))


def _ticket_page(page: Page, ticket: TicketDetail, **extra: Any) -> HTMLResponse:
    return render(
        page, "rmm/ticket.html", ticket=ticket, statuses=[s.value for s in TicketStatus], S=InvocationStatus, **extra
    )


@router.get("/rmm/tickets/{ticket_id}")
async def ticket_page(ticket_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """One ticket: its facts, linked devices and alerts, comments and status changes."""
    return _ticket_page(page, await _detail(session, page, ticket_id))


@router.post("/rmm/tickets/{ticket_id}/comment")
async def comment(
    ticket_id: Id,
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    body: Annotated[str, Form(min_length=1, max_length=20000)],
) -> Response:
    """Invoke ``rmm-comment-ticket``; answers the ticket page with the outcome."""
    outcome = await invoke(page, session, gate, "rmm-comment-ticket", {"ticket_id": ticket_id, "body": body.strip()})
    if outcome.status is InvocationStatus.DONE:
        return RedirectResponse(f"/rmm/tickets/{ticket_id}#comments", status_code=303)
    return _ticket_page(page, await _detail(session, page, ticket_id), outcome=outcome, action="Comment")


@router.post("/rmm/tickets/{ticket_id}/status")
async def change_status(
    ticket_id: Id,
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    status: Annotated[TicketStatus, Form()],
    note: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    """Invoke ``rmm-update-ticket`` with a new status (and an optional note)."""
    args: dict[str, Any] = {"ticket_id": ticket_id, "status": status.value}
    if note.strip():
        args["note"] = note.strip()
    outcome = await invoke(page, session, gate, "rmm-update-ticket", args)
    if outcome.status is InvocationStatus.DONE:
        return RedirectResponse(f"/rmm/tickets/{ticket_id}", status_code=303)
    return _ticket_page(
        page, await _detail(session, page, ticket_id), outcome=outcome, action=f"Set status to {status.value}"
    )
