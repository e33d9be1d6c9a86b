"""REST API of patch policies: every call goes through the policy gate (its tools)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hub.core.bounds import Id
from hub.core.deps import ApiCallerDep, SessionDep
from native_rmm.automation.patch_schemas import PatchPolicyIn
from policies.deps import GateDep
from policies.routes import GATED_RESPONSES, outcome_response

router = APIRouter(prefix="/api/v1/rmm/patch-policies", tags=["rmm-automation"])


@router.get("", responses=GATED_RESPONSES)
async def list_policies(session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """The patch policies in precedence order with their latest runs (tool ``rmm-list-patch-policies``)."""
    return outcome_response(await gate.invoke(session, caller, "rmm-list-patch-policies", {}))


@router.post("", responses=GATED_RESPONSES)
async def create_policy(body: PatchPolicyIn, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Create a policy (tool ``rmm-create-patch-policy``): 200 done, 202 pending approval."""
    args: dict[str, Any] = body.model_dump(mode="json")
    return outcome_response(await gate.invoke(session, caller, "rmm-create-patch-policy", args))


@router.put("/{policy_id}", responses=GATED_RESPONSES)
async def update_policy(
    policy_id: Id, body: PatchPolicyIn, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Change a policy (tool ``rmm-update-patch-policy``)."""
    args: dict[str, Any] = {**body.model_dump(mode="json"), "policy_id": policy_id}
    return outcome_response(await gate.invoke(session, caller, "rmm-update-patch-policy", args))


@router.post("/{policy_id}/run", responses=GATED_RESPONSES)
async def run_policy(policy_id: Id, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Run the policy now (tool ``rmm-run-patch-policy``); the scheduler leader carries it out."""
    return outcome_response(await gate.invoke(session, caller, "rmm-run-patch-policy", {"policy_id": policy_id}))


@router.delete("/{policy_id}", responses=GATED_RESPONSES)
async def delete_policy(policy_id: Id, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """Delete a policy (tool ``rmm-delete-patch-policy``; seeded ``never`` until an admin allows it)."""
    return outcome_response(await gate.invoke(session, caller, "rmm-delete-patch-policy", {"policy_id": policy_id}))


@router.get("/runs/{run_id}", responses=GATED_RESPONSES)
async def run_report(run_id: Id, session: SessionDep, caller: ApiCallerDep, gate: GateDep) -> JSONResponse:
    """One run's per-device report (tool ``rmm-get-patch-run-report``)."""
    return outcome_response(await gate.invoke(session, caller, "rmm-get-patch-run-report", {"run_id": run_id}))
