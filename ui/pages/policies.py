"""The policy dashboard (``/policies``): tabs for approvals, per-tool policies and the audit log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse

from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.registry import Tool
from hub.core.roles import Role
from policies.deps import GateDep
from policies.models import PolicyMode, ToolPolicy
from policies.pipeline import Gate
from policies.service import policies_for, policy_for, reset_policy, set_policy
from ui.page import PageDep, render
from ui.pages.approvals import queue_context
from ui.pages.audit import AuditFilters, audit_context

router = APIRouter(include_in_schema=False)

Tab = Literal["approvals", "policies", "audit"]
#: The modes an admin can pick, with the words the seed product uses.
MODE_CHOICES: list[tuple[str, str]] = [
    (PolicyMode.AUTO.value, "auto"),
    (PolicyMode.APPROVAL.value, "approval needed"),
    (PolicyMode.NEVER.value, "never"),
]


async def tools_context(session: DbSession, gate: Gate, org_id: int, *, source: str, q: str) -> dict[str, Any]:
    """Every tool of the organisation with its policy, filtered by source and free text."""
    tools = gate.registry.visible(org_id)
    sources = sorted({t.source for t in tools})
    if source:
        tools = [t for t in tools if t.source == source]
    needle = q.strip().lower()
    if needle:
        tools = [t for t in tools if needle in f"{t.id} {t.title} {t.description} {t.category}".lower()]
    policies = await policies_for(session, org_id, tools)
    rows = [(t, policies[t.id]) for t in tools]
    return {"rows": rows, "sources": sources, "source": source, "q": q, "modes": MODE_CHOICES}


@router.get("/policies")
async def dashboard(
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    tab: Tab = "approvals",
    source: str = "",
    q: str = "",
    filters: Annotated[AuditFilters, Query()] = AuditFilters(),
) -> HTMLResponse:
    """The dashboard with the selected tab rendered server-side."""
    context: dict[str, Any] = {}
    if tab == "approvals":
        context = await queue_context(session, page.org.id)
    elif tab == "policies":
        context = await tools_context(session, gate, page.org.id, source=source, q=q)
    else:
        context = await audit_context(session, page.org.id, filters)
    return render(page, "policies/index.html", tab=tab, **context)


@router.get("/policies/tools")
async def tools_table(page: PageDep, session: SessionDep, gate: GateDep, source: str = "", q: str = "") -> HTMLResponse:
    """The policy table fragment (filters re-render only the table)."""
    return render(page, "policies/_tools.html", **await tools_context(session, gate, page.org.id, source=source, q=q))


def _row(page: PageDep, tool: Tool, policy: ToolPolicy, *, saved: str = "") -> HTMLResponse:
    return render(page, "policies/_tool_row.html", tool=tool, policy=policy, modes=MODE_CHOICES, saved=saved)


@router.post("/policies/tools/mode")
async def change_mode(
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    tool: Annotated[str, Form(max_length=200)],
    mode: Annotated[PolicyMode, Form()],
) -> HTMLResponse:
    """An admin override of one tool's mode (audited by the policy service)."""
    page.require(Role.ADMIN)
    resolved = gate.registry.resolve(tool, page.org.id)
    policy = await set_policy(session, caller=page.caller, tool=resolved, mode=mode)
    return _row(page, resolved, policy, saved=f"saved: {mode.value}")


@router.post("/policies/tools/reset")
async def reset_mode(
    page: PageDep, session: SessionDep, gate: GateDep, tool: Annotated[str, Form(max_length=200)]
) -> HTMLResponse:
    """Drop an admin override: back to the classifier's mode (audited)."""
    page.require(Role.ADMIN)
    resolved = gate.registry.resolve(tool, page.org.id)
    policy = await reset_policy(session, caller=page.caller, tool=resolved)
    return _row(page, resolved, policy, saved="reset to default")


@router.get("/policies/tools/row")
async def tool_row(page: PageDep, session: SessionDep, gate: GateDep, tool: str) -> HTMLResponse:
    """One row of the policy table (used to cancel an edit)."""
    resolved = gate.registry.resolve(tool, page.org.id)
    return _row(page, resolved, await policy_for(session, page.org.id, resolved))
