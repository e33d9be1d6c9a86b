"""REST API of alerts and thresholds. Actions on alerts go through the policy gate."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from hub.core.bounds import Id
from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, ApiCallerDep, SessionDep
from native_rmm.alerts import customer_thresholds, service, thresholds
from native_rmm.alerts.schemas import AlertAction, AlertOut, Thresholds, ThresholdsOut
from native_rmm.models.alerts import AlertSeverity, AlertSource, AlertStatus
from policies.deps import GateDep
from policies.routes import GATED_RESPONSES, outcome_response

router = APIRouter(prefix="/api/v1/rmm", tags=["rmm-alerts"])


@router.get("/thresholds", response_model=ThresholdsOut)
async def get_thresholds(session: SessionDep, admin: AdminDep) -> ThresholdsOut:
    """The organisation's metric thresholds (admin)."""
    return await thresholds.get_thresholds(session, admin.user.org_id)


@router.put("/thresholds", response_model=ThresholdsOut)
async def put_thresholds(body: Thresholds, session: SessionDep, admin: AdminDep) -> ThresholdsOut:
    """Save the organisation's metric thresholds (admin; ``warn < danger <= 100``; audited)."""
    return await thresholds.set_thresholds(session, actor=admin.caller(CallerKind.API), values=body)


@router.put("/thresholds/customers/{customer_id}", response_model=ThresholdsOut)
async def put_customer_thresholds(
    customer_id: Id, body: Thresholds, session: SessionDep, admin: AdminDep
) -> ThresholdsOut:
    """Save a customer's own thresholds; they override the organisation's for its devices (admin; audited)."""
    return await customer_thresholds.set_customer_thresholds(
        session, actor=admin.caller(CallerKind.API), customer_id=customer_id, values=body
    )


@router.delete("/thresholds/customers/{customer_id}", status_code=204)
async def delete_customer_thresholds(customer_id: Id, session: SessionDep, admin: AdminDep) -> Response:
    """Drop a customer's own thresholds (its devices follow the organisation's again)."""
    await customer_thresholds.clear_customer_thresholds(
        session, actor=admin.caller(CallerKind.API), customer_id=customer_id
    )
    return Response(status_code=204)


@router.get("/alerts", response_model=list[AlertOut])
async def list_alerts(
    session: SessionDep,
    caller: ApiCallerDep,
    device_id: Id | None = None,
    status: AlertStatus | None = None,
    active: bool = False,
    severity: AlertSeverity | None = None,
    source: AlertSource | None = None,
    before_id: Id | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AlertOut]:
    """Alerts of the organisation, newest first (``active=true``: open or acknowledged)."""
    rows = await service.list_alerts(
        session,
        org_id=caller.org_id,
        device_id=device_id,
        status=status,
        active_only=active,
        severity=severity,
        source=source,
        before_id=before_id,
        limit=limit,
    )
    return [AlertOut.of(a) for a in rows]


@router.get("/alerts/{alert_id}", response_model=AlertOut)
async def get_alert(alert_id: Id, session: SessionDep, caller: ApiCallerDep) -> AlertOut:
    """One alert."""
    return AlertOut.of(await service.get_alert(session, org_id=caller.org_id, alert_id=alert_id))


@router.post("/alerts/{alert_id}/acknowledge", responses=GATED_RESPONSES)
async def acknowledge(
    alert_id: Id, body: AlertAction, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Acknowledge through the gate (tool ``rmm-acknowledge-alert``)."""
    outcome = await gate.invoke(session, caller, "rmm-acknowledge-alert", {"alert_id": alert_id}, reason=body.reason)
    return outcome_response(outcome)


@router.post("/alerts/{alert_id}/resolve", responses=GATED_RESPONSES)
async def resolve(
    alert_id: Id, body: AlertAction, session: SessionDep, caller: ApiCallerDep, gate: GateDep
) -> JSONResponse:
    """Resolve through the gate (tool ``rmm-resolve-alert``)."""
    outcome = await gate.invoke(session, caller, "rmm-resolve-alert", {"alert_id": alert_id}, reason=body.reason)
    return outcome_response(outcome)
