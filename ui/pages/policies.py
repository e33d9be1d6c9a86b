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
    return {"rows": rows, "sources": sources, "source": source, "q": q, "modes": MODE_CHOICES, "role_choices": ROLES}


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


#: The roles a tool's mode may be set for (viewers use no write tools).
ROLES = [Role.OPERATOR.value, Role.APPROVER.value, Role.ADMIN.value]


def _row(page: PageDep, tool: Tool, policy: ToolPolicy, *, saved: str = "") -> HTMLResponse:
    return render(
        page, "policies/_tool_row.html", tool=tool, policy=policy, modes=MODE_CHOICES, role_choices=ROLES, saved=saved
    )


RoleModeForm = Annotated[Literal["", "auto", "approval", "never"], Form()]


@router.post("/policies/tools/advanced")
async def change_advanced(
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    tool: Annotated[str, Form(max_length=200)],
    role_operator: RoleModeForm = "",
    role_approver: RoleModeForm = "",
    role_admin: RoleModeForm = "",
    approvals_required: Annotated[Literal[1, 2], Form()] = 1,
    admin_required: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """An admin sets per-role modes and two-person approval of one tool (audited by the policy service)."""
    page.require(Role.ADMIN)
    resolved = gate.registry.resolve(tool, page.org.id)
    chosen = {Role.OPERATOR: role_operator, Role.APPROVER: role_approver, Role.ADMIN: role_admin}
    role_modes = {role: PolicyMode(value) if value else None for role, value in chosen.items()}
    policy = await set_policy(
        session,
        caller=page.caller,
        tool=resolved,
        role_modes=role_modes,
        approvals_required=approvals_required,
        admin_required=admin_required and approvals_required == 2,
    )
    return _row(page, resolved, policy, saved="saved: role modes and approvals")


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
