"""REST API of alert rules: every call goes through the policy gate (its tools)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hub.core.bounds import Id
from hub.core.deps import ApiCallerDep, SessionDep
from native_rmm.automation import service
from native_rmm.automation.schemas import RuleIn, RuleRunOut
from policies.deps import GateDep
from policies.routes import GATED_RESPONSES, outcome_response

router = APIRouter(prefix="/api/v1/rmm/alert-rules", tags=["rmm-automation"])


@router.get("", responses=GATED_RESPONSES)
async def list_rules(session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """The alert rules (tool ``rmm-list-alert-rules``)."""
    return outcome_response(await gate.invoke(session, caller, "rmm-list-alert-rules", {}))


@router.post("", responses=GATED_RESPONSES)
async def create_rule(body: RuleIn, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Create a rule (tool ``rmm-create-alert-rule``): 200 done, 202 pending approval."""
    args: dict[str, Any] = body.model_dump(mode="json")
    return outcome_response(await gate.invoke(session, caller, "rmm-create-alert-rule", args))


@router.post("/{rule_id}/dry-run", responses=GATED_RESPONSES)
async def dry_run(rule_id: Id, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """What the rule would have done over the last 24 hours (tool ``rmm-dry-run-alert-rule``)."""
    return outcome_response(await gate.invoke(session, caller, "rmm-dry-run-alert-rule", {"rule_id": rule_id}))


@router.delete("/{rule_id}", responses=GATED_RESPONSES)
async def delete_rule(rule_id: Id, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Delete a rule (tool ``rmm-delete-alert-rule``; seeded ``never`` until an admin allows it)."""
    return outcome_response(await gate.invoke(session, caller, "rmm-delete-alert-rule", {"rule_id": rule_id}))


@router.get("/{rule_id}/runs", response_model=list[RuleRunOut])
async def rule_runs(rule_id: Id, session: SessionDep, caller: ApiCallerDep) -> list[RuleRunOut]:
    """What the rule did for which alert, newest first (read directly, like every list)."""
    await service.get_rule(session, org_id=caller.org_id, rule_id=rule_id)
    return [RuleRunOut.of(r) for r in await service.rule_runs(session, org_id=caller.org_id, rule_id=rule_id)]
