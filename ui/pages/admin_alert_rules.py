"""Admin -> Alert rules: the rules, what each did, a dry run over the last 24 hours, and the form that
creates or edits a rule (match criteria and ordered actions). Every change is a gate invocation
(``rmm-create-alert-rule``, ``rmm-update-alert-rule``, ``rmm-pause-alert-rule``, ``rmm-delete-alert-rule``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.errors import ToolArgumentError
from hub.core.notify import service as notify
from hub.core.roles import Role
from native_rmm.automation import service
from native_rmm.automation.schemas import DryRunResult, RuleOut, RuleRunOut
from native_rmm.devices import groups
from native_rmm.devices import queries as q
from native_rmm.models.alerts import AlertSeverity, AlertSource, MetricName
from native_rmm.models.scripts import Script
from native_rmm.models.tickets import TicketPriority
from native_rmm.monitors import service as monitors
from native_rmm.scripts import service as scripts
from policies.deps import GateDep
from policies.outcome import InvocationStatus, Outcome
from ui.page import Page, PageDep, render
from ui.pages.automation_forms import ACTION_KINDS, ACTION_SLOTS, rule_args, rule_values
from ui.pages.rmm_actions import invoke

router = APIRouter(include_in_schema=False)
DEFAULTS: dict[str, Any] = {"enabled": "on", "a1.kind": "ticket"}


async def _scripts(session: DbSession, page: Page) -> dict[str, Script]:
    return {s.slug: s for s in await scripts.list_scripts(session, org_id=page.org.id, enabled=True)}


async def _page(
    page: Page,
    session: DbSession,
    *,
    outcome: Outcome | None = None,
    action: str = "",
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    rules = [RuleOut.of(r) for r in await service.list_rules(session, org_id=page.org.id)]
    runs = {
        r.id: [RuleRunOut.of(x) for x in await service.rule_runs(session, org_id=page.org.id, rule_id=r.id, limit=10)]
        for r in rules
    }
    sites = await q.site_choices(session, org_id=page.org.id)
    extra.setdefault("values", DEFAULTS)
    if outcome is not None:
        extra |= {"outcome": outcome, "action": action}
    return render(
        page,
        "admin/alert_rules.html",
        rules=rules,
        runs=runs,
        severities=[s.value for s in AlertSeverity],
        sources=[s.value for s in AlertSource],
        metrics=[m.value for m in MetricName],
        priorities=[p.value for p in TicketPriority],
        kinds=ACTION_KINDS,
        slots=range(1, ACTION_SLOTS + 1),
        form_sites=[s for s in sites if not s.archived],
        form_customers=sorted({(s.customer_id, s.customer_name) for s in sites}, key=lambda c: c[1].lower()),
        form_monitors=[(m.id, m.name) for m in await monitors.list_monitors(session, org_id=page.org.id)],
        form_groups=[(g.id, g.name) for g in await groups.list_groups(session, org_id=page.org.id)],
        form_channels=[(c.id, c.name) for c in await notify.list_channels(session, org_id=page.org.id)],
        form_scripts=list((await _scripts(session, page)).values()),
        S=InvocationStatus,
        status_code=status_code,
        **extra,
    )


def _typed(form: Any) -> dict[str, Any]:
    """What the user typed, to show the form again after a refusal."""
    values: dict[str, Any] = {k: str(v) for k, v in form.items()}
    for name in ("severities", "sources", "metrics", "monitor_ids", "customer_ids", "site_ids", "group_ids"):
        values[name] = [str(v) for v in form.getlist(name)]
    return values


async def _submit(
    page: Page, session: DbSession, gate: GateDep, request: Request, *, rule_id: int | None
) -> HTMLResponse:
    form = await request.form()
    reason = str(form.get("reason", "")).strip()[:2000]
    editing: dict[str, Any] = {"editing_id": rule_id} if rule_id is not None else {}
    name = str(form.get("name", "")).strip() or "rule"
    what = f"Create alert rule {name!r}" if rule_id is None else f"Save alert rule {name!r}"
    try:
        args = rule_args(form, await _scripts(session, page))
        if rule_id is None:
            outcome = await invoke(page, session, gate, "rmm-create-alert-rule", args, reason=reason)
        else:
            outcome = await invoke(
                page, session, gate, "rmm-update-alert-rule", args | {"rule_id": rule_id}, reason=reason
            )
    except ToolArgumentError as exc:
        return await _page(page, session, values=_typed(form), form_error=str(exc), status_code=422, **editing)
    if outcome.status is InvocationStatus.FAILED:  # refused arguments: the form stays open with what was typed
        return await _page(
            page,
            session,
            values=_typed(form),
            form_error=f"{what} failed: {outcome.message.replace('Value error, ', '')}",
            status_code=outcome.error_status or 422,
            **editing,
        )
    return await _page(page, session, outcome=outcome, action=what)


@router.get("/admin/automation/rules")
async def rules_page(page: PageDep, session: SessionDep) -> HTMLResponse:
    """Every rule with its match, actions and newest steps, and the New rule form."""
    page.require(Role.OPERATOR)
    return await _page(page, session)


@router.post("/admin/automation/rules")
async def create_rule(request: Request, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Create a rule through the gate (``rmm-create-alert-rule``)."""
    page.require(Role.OPERATOR)
    return await _submit(page, session, gate, request, rule_id=None)


@router.get("/admin/automation/rules/{rule_id}/edit")
async def edit_form(rule_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """The page with the rule's edit form filled in."""
    page.require(Role.OPERATOR)
    rule = RuleOut.of(await service.get_rule(session, org_id=page.org.id, rule_id=rule_id))
    return await _page(
        page, session, values=rule_values(rule), editing_id=rule_id, too_many=len(rule.actions) > ACTION_SLOTS
    )


@router.post("/admin/automation/rules/{rule_id}")
async def update_rule(rule_id: Id, request: Request, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Save the edit form through the gate (``rmm-update-alert-rule``)."""
    page.require(Role.OPERATOR)
    return await _submit(page, session, gate, request, rule_id=rule_id)


@router.post("/admin/automation/rules/{rule_id}/pause")
async def pause_rule(
    rule_id: Id, page: PageDep, session: SessionDep, gate: GateDep, paused: bool = True
) -> HTMLResponse:
    """Pause or resume through the gate (``rmm-pause-alert-rule``)."""
    page.require(Role.OPERATOR)
    outcome = await invoke(page, session, gate, "rmm-pause-alert-rule", {"rule_id": rule_id, "paused": paused})
    return await _page(
        page, session, outcome=outcome, action=f"{'Pause' if paused else 'Resume'} alert rule #{rule_id}"
    )


@router.post("/admin/automation/rules/{rule_id}/delete")
async def delete_rule(rule_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Delete through the gate (``rmm-delete-alert-rule``)."""
    page.require(Role.OPERATOR)
    outcome = await invoke(page, session, gate, "rmm-delete-alert-rule", {"rule_id": rule_id})
    return await _page(page, session, outcome=outcome, action=f"Delete alert rule #{rule_id}")


@router.post("/admin/automation/rules/{rule_id}/dry-run")
async def dry_run(rule_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """The dry-run fragment (tool ``rmm-dry-run-alert-rule``): nothing runs."""
    page.require(Role.OPERATOR)
    outcome = await invoke(page, session, gate, "rmm-dry-run-alert-rule", {"rule_id": rule_id})
    result = outcome.result_as(DryRunResult) if outcome.status is InvocationStatus.DONE else None
    return render(page, "admin/_dry_run.html", outcome=outcome, result=result, rule_id=rule_id)
