"""Approval descriptions of the ConnectWise RMM tools: scripts by name, tickets by number, the note's text.

``Run ConnectWise RMM script 'Disk Cleanup' on 2 endpoints`` (each endpoint listed, the parameters
shown), ``Create ConnectWise RMM ticket 'Printer offline' for company <id>`` with its description,
``Add an internal note to ConnectWise RMM ticket 1001`` with the note. Names come from what the hub
already holds (the discovered scripts); describing never calls ConnectWise, so an approval is
recorded even while the tenant is unreachable.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from connectors.connectwise_rmm.models import CWScript
from hub.core.describe import Description, clip_body, with_targets
from hub.core.registry import ToolContext


def _params(parameters: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in parameters.items()}


def script_run(name: str, args: dict[str, Any], parameters: dict[str, Any]) -> Description:
    """``Run ConnectWise RMM script '<name>' on <endpoint>`` / ``on N endpoints`` / ``on every endpoint of company``."""
    what = f"Run ConnectWise RMM script '{name}'"
    params = _params(parameters)
    if args.get("targetType") == "COMPANY":
        return Description(summary=f"{what} on every endpoint of company {args.get('company_id')}", params=params)
    endpoints = [str(e) for e in args.get("endpoint_ids") or []]
    if len(endpoints) == 1:
        return Description(summary=f"{what} on endpoint {endpoints[0]}", params=params)
    return with_targets(f"{what} on {len(endpoints)} endpoints", endpoints, params=params)


async def describe_run_task(ctx: ToolContext, args: Any) -> Description:
    """``cw-rmm-run-task``: the template by its discovered script's name."""
    stmt = select(CWScript.name).where(CWScript.org_id == ctx.org_id, CWScript.template_id == args.template_id)
    name = (await ctx.session.execute(stmt)).scalars().first() or f"template {args.template_id}"
    return script_run(name, args.model_dump(exclude_none=True), dict(args.parameters))


async def describe_create_ticket(ctx: ToolContext, args: Any) -> Description:
    """``cw-rmm-create-ticket``: summary, company and attached endpoints, the description as body."""
    company = f" for company {args.company_id}" if args.company_id else ""
    attached = f", attaching {len(args.endpoint_ids)} endpoint(s)" if args.endpoint_ids else ""
    summary = f"Create ConnectWise RMM ticket '{args.summary}'{company} on board {args.service_board_id}{attached}"
    return Description(
        summary=summary[:2000],
        body=clip_body(args.description),
        body_label="Description",
        targets=list(args.endpoint_ids),
        target_count=len(args.endpoint_ids),
    )


async def describe_ticket_note(ctx: ToolContext, args: Any) -> Description:
    """``cw-rmm-add-ticket-note``: which ticket, who will see it, the note as body."""
    who = "a note the customer can see" if args.visibility == "all" else "an internal note"
    return Description(
        summary=f"Add {who} to ConnectWise RMM ticket {args.ticket}", body=clip_body(args.detail), body_label="Note"
    )
