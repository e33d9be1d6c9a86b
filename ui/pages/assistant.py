"""The assistant page. Until the chat lands: which tools the assistant would be offered, and why."""

from __future__ import annotations

from itertools import groupby

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.core.deps import SessionDep
from policies.deps import GateDep
from policies.models import PolicyMode
from policies.service import policies_for
from ui.page import PageDep, render

router = APIRouter(include_in_schema=False)


@router.get("/assistant")
async def assistant(page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Tools the assistant may use in this organisation (every policy except ``never``), by source."""
    tools = gate.registry.visible(page.org.id)
    policies = await policies_for(session, page.org.id, tools)
    offered = [(t, policies[t.id]) for t in tools if policies[t.id].mode is not PolicyMode.NEVER]
    hidden = len(tools) - len(offered)
    groups = [(source, list(rows)) for source, rows in groupby(offered, key=lambda row: row[0].source)]
    return render(page, "assistant/index.html", groups=groups, hidden=hidden, model=page.hub.settings.assistant_model)
