"""REST API of the pipeline: tools (list, invoke), policies, approvals. Thin: parse, call, shape."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from hub.core.bounds import Id
from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, ApiCallerDep, SessionDep
from policies import approvals as approvals_service
from policies.deps import GateDep
from policies.models import Approval, ApprovalStatus
from policies.outcome import InvocationStatus, Outcome
from policies.schemas import ApprovalOut, DecisionRequest, InvokeRequest, PolicyOut, PolicyUpdate, ToolOut
from policies.service import policies_for, reset_policy, set_policy

router = APIRouter(prefix="/api/v1", tags=["tools"])

STATUS_CODES = {
    InvocationStatus.DONE: 200,
    InvocationStatus.PENDING_APPROVAL: 202,
    InvocationStatus.REFUSED: 403,
}


#: The statuses of a route answering with :func:`outcome_response` (declare them on the route).
GATED_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": Outcome, "description": "pending approval: an approver must allow it before it runs"},
    403: {"model": Outcome, "description": "refused by policy, or the caller's role is too low"},
}


def outcome_response(outcome: Outcome) -> JSONResponse:
    """The HTTP shape of a pipeline outcome (a failed run answers the status of its error)."""
    code = STATUS_CODES.get(outcome.status, outcome.error_status or 400)
    headers = {"Retry-After": str(outcome.retry_after)} if outcome.retry_after is not None else None
    return JSONResponse(outcome.model_dump(mode="json", exclude_none=True), status_code=code, headers=headers)


@router.get("/tools", response_model=list[ToolOut])
async def list_tools(
    session: SessionDep, caller: ApiCallerDep, gate: GateDep, source: str | None = None
) -> list[ToolOut]:
    """Tools the caller may use, with their policy and the reason for it."""
    tools = [t for t in gate.registry.visible(caller.org_id) if caller.can(t.min_role)]
    if source:
        tools = [t for t in tools if t.source == source]
    policies = await policies_for(session, caller.org_id, tools)
    return [ToolOut.of(t, policies[t.id]) for t in tools]


@router.post(
    "/tools/{name:path}/invoke",
    response_model=Outcome,
    responses={**GATED_RESPONSES, 422: {"description": "arguments do not match"}},
)
async def invoke_tool(
    name: str, body: InvokeRequest, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Invoke a tool through the policy gate: 200 done, 202 pending approval, 403 refused."""
    outcome = await gate.invoke(session, caller, name, body.args, reason=body.reason)
    return outcome_response(outcome)


@router.get("/policies", response_model=list[PolicyOut], tags=["policies"])
async def list_policies(
    session: SessionDep, caller: ApiCallerDep, gate: GateDep, source: str | None = None
) -> list[PolicyOut]:
    """The policy of every tool of the caller's organisation (optionally of one source)."""
    tools = gate.registry.visible(caller.org_id)
    if source:
        tools = [t for t in tools if t.source == source]
    policies = await policies_for(session, caller.org_id, tools)
    return [PolicyOut.of(policies[t.id]) for t in tools]


@router.put("/policies/{tool:path}", response_model=PolicyOut, tags=["policies"])
async def update_policy(
    tool: str, body: PolicyUpdate, session: SessionDep, admin: AdminDep, gate: GateDep
) -> PolicyOut:
    """Override a tool's policy (admin; audited): mode, per-role modes, two-person approval."""
    caller = admin.caller(CallerKind.API)
    resolved = gate.registry.resolve(tool, caller.org_id)
    policy = await set_policy(
        session,
        caller=caller,
        tool=resolved,
        mode=body.mode,
        note=body.note,
        role_modes=body.role_modes,
        approvals_required=body.approvals_required,
        admin_required=body.admin_required,
    )
    return PolicyOut.of(policy)


@router.delete("/policies/{tool:path}", response_model=PolicyOut, tags=["policies"])
async def reset_tool_policy(tool: str, session: SessionDep, admin: AdminDep, gate: GateDep) -> PolicyOut:
    """Drop an override: back to the classifier's mode (admin; audited)."""
    caller = admin.caller(CallerKind.API)
    resolved = gate.registry.resolve(tool, caller.org_id)
    return PolicyOut.of(await reset_policy(session, caller=caller, tool=resolved))


@router.get("/approvals", response_model=list[ApprovalOut], tags=["approvals"])
async def list_approvals(
    session: SessionDep,
    caller: ApiCallerDep,
    status: ApprovalStatus | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[ApprovalOut]:
    """Approvals of the organisation, newest first."""
    rows = await approvals_service.list_approvals(session, caller.org_id, status=status, limit=limit)
    return [ApprovalOut.of(a) for a in rows]


@router.get("/approvals/{approval_id}", response_model=ApprovalOut, tags=["approvals"])
async def get_approval(approval_id: Id, session: SessionDep, caller: ApiCallerDep) -> ApprovalOut:
    """One approval."""
    return ApprovalOut.of(await approvals_service.get_approval(session, caller.org_id, approval_id))


def _decided(approval: Approval) -> JSONResponse:
    if approval.status is ApprovalStatus.EXPIRED:
        message = approvals_service.expired_message(approval)
        return JSONResponse({"status": "error", "message": message, "approval_status": "expired"}, status_code=409)
    return JSONResponse(ApprovalOut.of(approval).model_dump(mode="json"))


@router.post("/approvals/{approval_id}/approve", response_model=ApprovalOut, tags=["approvals"], responses={409: {}})
async def approve(
    approval_id: Id, body: DecisionRequest, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Approve and run the exact approved arguments (approver/admin; never your own request)."""
    return _decided(
        await approvals_service.approve(session, gate, approver=caller, approval_id=approval_id, note=body.note)
    )


@router.post("/approvals/{approval_id}/deny", response_model=ApprovalOut, tags=["approvals"], responses={409: {}})
async def deny(
    approval_id: Id, body: DecisionRequest, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Deny a pending request (approver/admin; never your own request)."""
    return _decided(
        await approvals_service.deny(session, gate, approver=caller, approval_id=approval_id, note=body.note)
    )
