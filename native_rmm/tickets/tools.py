"""Ticket tools: list and get (read), create, update and comment (writes: the classifier seeds approval)."""

from __future__ import annotations

from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.models.tickets import TicketStatus
from native_rmm.tickets import service
from native_rmm.tickets.describe import describe_comment_ticket, describe_create_ticket, describe_update_ticket
from native_rmm.tickets.schemas import (
    CommentOut,
    CommentTicketArgs,
    CreateTicketArgs,
    ListTicketsArgs,
    TicketDetail,
    TicketList,
    TicketRef,
    UpdateTicketArgs,
)

SOURCE = "native_rmm"


async def list_tickets(ctx: ToolContext, args: ListTicketsArgs) -> TicketList:
    """List native RMM tickets, newest first; filter by status (default active), priority, customer, device,
    assignee or text (title, description, external reference)."""
    status = None if args.status in ("active", "any") else TicketStatus(args.status)
    rows = await service.list_tickets(
        ctx.session,
        org_id=ctx.org_id,
        status=status,
        active_only=args.status == "active",
        priority=args.priority,
        customer_id=args.customer_id,
        device_id=args.device_id,
        assignee_user_id=args.assignee_user_id,
        search=args.search,
        limit=args.limit,
    )
    return TicketList(count=len(rows), tickets=await service.summaries(ctx.session, rows))


async def get_ticket(ctx: ToolContext, args: TicketRef) -> TicketDetail:
    """Get one native RMM ticket with its description, linked devices and alerts, and comments."""
    ticket = await service.get_ticket(ctx.session, org_id=ctx.org_id, ticket_id=args.ticket_id)
    return await service.detail(ctx.session, ticket)


async def create_ticket(ctx: ToolContext, args: CreateTicketArgs) -> TicketDetail:
    """Create a native RMM ticket for a customer (default: the first device's), optionally for one of its sites,
    with an external (PSA) reference, assigned and linked to devices and alerts."""
    ticket = await service.create_ticket(
        ctx.session,
        actor=ctx.caller,
        title=args.title,
        description=args.description,
        priority=args.priority,
        assignee_user_id=args.assignee_user_id,
        device_ids=args.device_ids,
        alert_ids=args.alert_ids,
        customer_id=args.customer_id,
        site_id=args.site_id,
        external_ref=args.external_ref,
        bus=ctx.bus,
    )
    return await service.detail(
        ctx.session, await service.get_ticket(ctx.session, org_id=ctx.org_id, ticket_id=ticket.id)
    )


async def update_ticket(ctx: ToolContext, args: UpdateTicketArgs) -> TicketDetail:
    """Update a native RMM ticket: title, status, priority, assignee (null unassigns), external reference,
    customer/site, linked devices/alerts."""
    changes = args.model_dump(include=service.CHANGEABLE, exclude_unset=True)
    ticket = await service.update_ticket(
        ctx.session,
        actor=ctx.caller,
        ticket_id=args.ticket_id,
        changes=changes,
        add_device_ids=args.add_device_ids,
        add_alert_ids=args.add_alert_ids,
        note=args.note,
        bus=ctx.bus,
    )
    return await service.detail(ctx.session, ticket)


async def comment_ticket(ctx: ToolContext, args: CommentTicketArgs) -> CommentOut:
    """Add a comment to a native RMM ticket."""
    c = await service.add_comment(ctx.session, actor=ctx.caller, ticket_id=args.ticket_id, body=args.body, bus=ctx.bus)
    return CommentOut(id=c.id, author=c.author_label, via=c.via, body=c.body, created_at=c.created_at)


def tools() -> list[Tool]:
    """The ticket tools."""
    read = ToolAnnotations(read_only=True, open_world=False)
    write = ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=False)
    return [
        model_tool(
            source=SOURCE,
            name="rmm-list-tickets",
            args_model=ListTicketsArgs,
            handler=list_tickets,
            annotations=read,
            min_role=Role.VIEWER,
            title="List tickets",
            category="tickets",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-get-ticket",
            args_model=TicketRef,
            handler=get_ticket,
            annotations=read,
            min_role=Role.VIEWER,
            title="Get ticket",
            category="tickets",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-create-ticket",
            args_model=CreateTicketArgs,
            handler=create_ticket,
            describe=describe_create_ticket,
            annotations=write,
            title="Create ticket",
            category="tickets",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-update-ticket",
            args_model=UpdateTicketArgs,
            handler=update_ticket,
            describe=describe_update_ticket,
            annotations=write,
            title="Update ticket",
            category="tickets",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-comment-ticket",
            args_model=CommentTicketArgs,
            handler=comment_ticket,
            describe=describe_comment_ticket,
            annotations=write,
            title="Comment on ticket",
            category="tickets",
        ),
    ]
