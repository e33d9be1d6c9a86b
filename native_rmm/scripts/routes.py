"""REST API of the script library. Admins change scripts; runs go through the policy gate."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from hub.core.bounds import Id
from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, ApiCallerDep, SessionDep
from native_rmm.models.scripts import ScriptOsType
from native_rmm.scripts import runs, service
from native_rmm.scripts.schemas import RunScriptRequest, ScriptIn, ScriptOut, ScriptRunOut, ScriptSummary, ScriptUpdate
from policies.deps import GateDep
from policies.routes import outcome_response

router = APIRouter(prefix="/api/v1/rmm", tags=["rmm-scripts"])


@router.get("/scripts", response_model=list[ScriptSummary])
async def list_scripts(
    session: SessionDep,
    caller: ApiCallerDep,
    enabled: bool | None = None,
    os_type: ScriptOsType | None = None,
    search: str | None = Query(default=None, max_length=200),
) -> list[ScriptSummary]:
    """Scripts of the organisation (without bodies)."""
    rows = await service.list_scripts(session, org_id=caller.org_id, enabled=enabled, os_type=os_type, search=search)
    return [ScriptSummary.of(s) for s in rows]


@router.get("/scripts/{script_id}", response_model=ScriptOut)
async def get_script(script_id: Id, session: SessionDep, caller: ApiCallerDep) -> ScriptOut:
    """One script with its body."""
    return ScriptOut.of(await service.get_script(session, org_id=caller.org_id, script_id=script_id))


@router.post("/scripts", response_model=ScriptOut, status_code=201)
async def create_script(body: ScriptIn, session: SessionDep, admin: AdminDep, gate: GateDep) -> ScriptOut:
    """Add a script (admin); its tool ``rmm-script-<slug>`` appears at once."""
    script = await service.create_script(session, gate, actor=admin.caller(CallerKind.API), data=body)
    return ScriptOut.of(script)


@router.put("/scripts/{script_id}", response_model=ScriptOut)
async def update_script(
    script_id: Id, body: ScriptUpdate, session: SessionDep, admin: AdminDep, gate: GateDep
) -> ScriptOut:
    """Change a script (admin; only the fields sent)."""
    script = await service.update_script(
        session, gate, actor=admin.caller(CallerKind.API), script_id=script_id, data=body
    )
    return ScriptOut.of(script)


@router.delete("/scripts/{script_id}", status_code=204)
async def delete_script(script_id: Id, session: SessionDep, admin: AdminDep, gate: GateDep) -> Response:
    """Delete a script (admin); its tool disappears and its pending approvals fail."""
    await service.delete_script(session, gate, actor=admin.caller(CallerKind.API), script_id=script_id)
    return Response(status_code=204)


@router.post("/scripts/{script_id}/run")
async def run_script(
    script_id: Id, body: RunScriptRequest, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Run through the gate (tool ``rmm-run-script``): 200 queued, 202 pending approval, 403 refused."""
    args = {"script": script_id, "device_ids": body.device_ids, "params": body.params}
    return outcome_response(await gate.invoke(session, caller, "rmm-run-script", args, reason=body.reason))


@router.get("/script-runs", response_model=list[ScriptRunOut])
async def list_script_runs(
    session: SessionDep,
    caller: ApiCallerDep,
    device_id: Id | None = None,
    script_id: Id | None = None,
    before_id: Id | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[ScriptRunOut]:
    """Script runs with their output, newest first (a device's Script Runs tab)."""
    return await runs.list_script_runs(
        session, org_id=caller.org_id, device_id=device_id, script_id=script_id, before_id=before_id, limit=limit
    )
