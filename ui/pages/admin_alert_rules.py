"""Admin -> Alert rules: the rules, what each did, and a dry run over the last 24 hours (through the gate)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.deps import SessionDep
from hub.core.roles import Role
from native_rmm.automation import service
from native_rmm.automation.schemas import DryRunResult, RuleOut, RuleRunOut
from policies.deps import GateDep
from policies.outcome import InvocationStatus
from ui.page import PageDep, render
from ui.pages.rmm_actions import invoke

router = APIRouter(include_in_schema=False)


@router.get("/admin/automation/rules")
async def rules_page(page: PageDep, session: SessionDep) -> HTMLResponse:
    """Every rule with its match, actions and newest steps."""
    page.require(Role.OPERATOR)
    rules = [RuleOut.of(r) for r in await service.list_rules(session, org_id=page.org.id)]
    runs = {r.id: [RuleRunOut.of(x) for x in await service.rule_runs(session, org_id=page.org.id, rule_id=r.id,
                                                                      limit=10)] for r in rules}  # fmt: skip
    return render(page, "admin/alert_rules.html", rules=rules, runs=runs)


@router.post("/admin/automation/rules/{rule_id}/dry-run")
async def dry_run(rule_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """The dry-run fragment (tool ``rmm-dry-run-alert-rule``): nothing runs."""
    page.require(Role.OPERATOR)
    outcome = await invoke(page, session, gate, "rmm-dry-run-alert-rule", {"rule_id": rule_id})
    result = outcome.result_as(DryRunResult) if outcome.status is InvocationStatus.DONE else None
    return render(page, "admin/_dry_run.html", outcome=outcome, result=result, rule_id=rule_id)
