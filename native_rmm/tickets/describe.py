"""Approval descriptions of the ticket tools: the ticket by number and title, devices by name.

``Comment on ticket #12 'LDN-FS-02 disk nearly full'`` with the comment as the body an approver
reads; ``Create ticket 'Printer offline' (high) linked to LDN-WS-14 (Northwind / London)``;
``Update ticket #12 '...': status resolved, priority high``. Used as the ``describe`` hook of
``rmm-create-ticket``, ``rmm-update-ticket`` and ``rmm-comment-ticket``.
"""

from __future__ import annotations

from hub.core.db import get_in_org
from hub.core.describe import Description, clip_body
from hub.core.registry import ToolContext
from native_rmm.commands.describe import device_names
from native_rmm.models.tickets import Ticket
from native_rmm.tickets.schemas import CommentTicketArgs, CreateTicketArgs, UpdateTicketArgs


async def _ticket_label(ctx: ToolContext, ticket_id: int) -> str:
    ticket = await get_in_org(ctx.session, Ticket, ticket_id, ctx.org_id)
    return f"ticket #{ticket_id} '{ticket.title}'" if ticket else f"ticket #{ticket_id} (not found)"


async def describe_create_ticket(ctx: ToolContext, args: CreateTicketArgs) -> Description:
    """``Create ticket 'title' (priority) linked to <devices by name>`` with the description as body."""
    names = await device_names(ctx.session, org_id=ctx.org_id, device_ids=args.device_ids)
    linked = f" linked to {', '.join(names)}" if names else ""
    alerts = f" and alert(s) {', '.join(f'#{a}' for a in args.alert_ids)}" if args.alert_ids else ""
    summary = f"Create ticket '{args.title}' ({args.priority.value}){linked}{alerts}"
    return Description(summary=summary[:2000], body=clip_body(args.description), body_label="Description")


async def describe_update_ticket(ctx: ToolContext, args: UpdateTicketArgs) -> Description:
    """``Update ticket #N 'title': status resolved, priority high`` (only what changes)."""
    changes = args.model_dump(exclude={"ticket_id", "note", "add_device_ids", "add_alert_ids"}, exclude_unset=True)
    shown = [f"{k.removesuffix('_user_id').replace('_', ' ')} {getattr(v, 'value', v)}" for k, v in changes.items()]
    if args.add_device_ids:
        names = await device_names(ctx.session, org_id=ctx.org_id, device_ids=args.add_device_ids)
        shown.append("link " + ", ".join(names))
    if args.add_alert_ids:
        shown.append("link alert(s) " + ", ".join(f"#{a}" for a in args.add_alert_ids))
    what = ": " + ", ".join(shown) if shown else ""
    summary = f"Update {await _ticket_label(ctx, args.ticket_id)}{what}"
    return Description(summary=summary[:2000], body=clip_body(args.note), body_label="Note" if args.note else "")


async def describe_comment_ticket(ctx: ToolContext, args: CommentTicketArgs) -> Description:
    """``Comment on ticket #N 'title'`` with the comment as body."""
    summary = f"Comment on {await _ticket_label(ctx, args.ticket_id)}"
    return Description(summary=summary[:2000], body=clip_body(args.body), body_label="Comment")
