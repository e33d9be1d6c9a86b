"""The RMM Patch policies tab: the policies in precedence order (group, site, customer), a form to create
one, run-now, and each run's per-device report. Every action goes through the gate
(``rmm-create-patch-policy``, ``rmm-run-patch-policy``, ``rmm-get-patch-run-report``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.errors import ToolArgumentError
from native_rmm.automation import patch_policies
from native_rmm.automation.patch_schemas import PatchDeviceReport, PatchPolicyOut, PatchRunOut, PatchRunReport
from policies.deps import GateDep
from policies.outcome import InvocationStatus, Outcome
from ui.page import Page, PageDep, render
from ui.pages.rmm_actions import invoke

router = APIRouter(include_in_schema=False)
RUNS_SHOWN = 5
CATEGORIES = ["security", "critical", "important", "moderate", "low", "recommended", "other"]
REBOOTS = [("never", "Never"), ("if_required", "If required"), ("always", "Always")]


async def patch_policies_context(session: DbSession, page: Page) -> dict[str, Any]:
    """What the Patch policies tab shows."""
    named = await patch_policies.list_policies(session, org_id=page.org.id)
    policies = [PatchPolicyOut.of(row, name) for row, name in named]
    runs: dict[int, list[PatchRunOut]] = {}
    for p in policies:
        rows = await patch_policies.policy_runs(session, org_id=page.org.id, policy_id=p.id, limit=RUNS_SHOWN)
        counts = await patch_policies.run_counts(session, run_ids=[r.id for r in rows])
        runs[p.id] = [PatchRunOut.of(r, counts[r.id]) for r in rows]
    return {
        "patch_policies": policies,
        "patch_runs": runs,
        "scope_choices": await patch_policies.scope_choices(session, org_id=page.org.id),
        "categories": CATEGORIES,
        "reboots": REBOOTS,
    }


async def device_patch_policy(session: DbSession, page: Page, device_id: int) -> dict[str, Any]:
    """The policy that governs a device and its newest result there, for the device's Patches tab."""
    governing = await patch_policies.effective_policy(session, org_id=page.org.id, device_id=device_id)
    policy = None
    if governing is not None:
        name = await patch_policies.scope_name(
            session, org_id=page.org.id, kind=governing.scope_kind, scope_id=governing.scope_id
        )
        policy = PatchPolicyOut.of(governing, name)
    last = await patch_policies.latest_device_result(session, org_id=page.org.id, device_id=device_id)
    return {
        "patch_policy": policy,
        "patch_last": PatchDeviceReport.of(last, "") if last else None,
        "patch_last_run": last.run_id if last else None,
    }


async def _tab(page: Page, session: DbSession, outcome: Outcome, action: str) -> HTMLResponse:
    context = await patch_policies_context(session, page)
    return render(page, "rmm/_patch_policies_tab.html", outcome=outcome, S=InvocationStatus, action=action, **context)


@router.post("/rmm/patch-policies")
async def create(
    page: PageDep,
    session: SessionDep,
    gate: GateDep,
    name: Annotated[str, Form(max_length=120)],
    scope: Annotated[str, Form(max_length=40)],
    cron: Annotated[str, Form(max_length=120)],
    categories: Annotated[list[str], Form(max_length=10)],
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    reboot: Annotated[str, Form(max_length=20)] = "if_required",
    reboot_warning_minutes: Annotated[str, Form(max_length=4)] = "5",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Invoke ``rmm-create-patch-policy`` with the form; answers the refreshed tab with the outcome."""
    kind, _, raw_id = scope.partition(":")
    if not raw_id.isdigit() or not reboot_warning_minutes.strip().isdigit():
        raise ToolArgumentError("native_rmm:rmm-create-patch-policy", "$.scope_id", "choose a customer, site or group")
    args = {
        "name": name.strip(),
        "scope_kind": kind,
        "scope_id": int(raw_id),
        "categories": categories,
        "cron": cron.strip(),
        "timezone": timezone.strip() or "UTC",
        "reboot": reboot,
        "reboot_warning_minutes": int(reboot_warning_minutes),
    }
    outcome = await invoke(page, session, gate, "rmm-create-patch-policy", args, reason=reason)
    return await _tab(page, session, outcome, f"Create patch policy {name.strip()!r}")


@router.post("/rmm/patch-policies/{policy_id}/run")
async def run_now(policy_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Invoke ``rmm-run-patch-policy``; the scheduler leader carries the run out."""
    outcome = await invoke(page, session, gate, "rmm-run-patch-policy", {"policy_id": policy_id})
    return await _tab(page, session, outcome, f"Run patch policy #{policy_id}")


@router.get("/rmm/patch-policies/runs/{run_id}")
async def report(run_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """One run's per-device report (tool ``rmm-get-patch-run-report``), polled while the run moves."""
    outcome = await invoke(page, session, gate, "rmm-get-patch-run-report", {"run_id": run_id})
    result = outcome.result_as(PatchRunReport) if outcome.status is InvocationStatus.DONE else None
    return render(page, "rmm/_patch_run_report.html", outcome=outcome, S=InvocationStatus, report=result, run_id=run_id)
