"""REST API of synthetic monitors: operators read, admins change (audited)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hub.core.bounds import Id
from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, HubDep, OperatorDep, SessionDep
from native_rmm.monitors import service
from native_rmm.monitors.checks import Probes
from native_rmm.monitors.jobs import PROBES_SERVICE
from native_rmm.monitors.schemas import MonitorIn, MonitorOut, MonitorUpdate

router = APIRouter(prefix="/api/v1/rmm/monitors", tags=["rmm-monitors"])


@router.get("", response_model=list[MonitorOut])
async def list_monitors(session: SessionDep, principal: OperatorDep, enabled: bool | None = None) -> list[MonitorOut]:
    """Monitors of the organisation with their last result (operator or above)."""
    rows = await service.list_monitors(session, org_id=principal.user.org_id, enabled=enabled)
    return [MonitorOut.of(m) for m in rows]


@router.get("/{monitor_id}", response_model=MonitorOut)
async def get_monitor(monitor_id: Id, session: SessionDep, principal: OperatorDep) -> MonitorOut:
    """One monitor."""
    return MonitorOut.of(await service.get_monitor(session, org_id=principal.user.org_id, monitor_id=monitor_id))


@router.post("", response_model=MonitorOut, status_code=201)
async def create_monitor(body: MonitorIn, session: SessionDep, admin: AdminDep) -> MonitorOut:
    """Create a monitor (admin)."""
    return MonitorOut.of(await service.create_monitor(session, actor=admin.caller(CallerKind.API), data=body))


@router.put("/{monitor_id}", response_model=MonitorOut)
async def update_monitor(
    monitor_id: Id, body: MonitorUpdate, session: SessionDep, admin: AdminDep, hub: HubDep
) -> MonitorOut:
    """Change a monitor (admin; only the fields sent)."""
    monitor = await service.update_monitor(
        session, actor=admin.caller(CallerKind.API), monitor_id=monitor_id, data=body, bus=hub.bus
    )
    return MonitorOut.of(monitor)


@router.delete("/{monitor_id}", status_code=204)
async def delete_monitor(monitor_id: Id, session: SessionDep, admin: AdminDep, hub: HubDep) -> Response:
    """Delete a monitor (admin); its active alert is resolved."""
    await service.delete_monitor(session, actor=admin.caller(CallerKind.API), monitor_id=monitor_id, bus=hub.bus)
    return Response(status_code=204)


@router.post("/{monitor_id}/run", response_model=MonitorOut)
async def run_monitor(monitor_id: Id, session: SessionDep, principal: OperatorDep, hub: HubDep) -> MonitorOut:
    """Probe a monitor now and record the result (operator or above; a probe changes nothing outside)."""
    probes: Probes = hub.services.get(PROBES_SERVICE) or Probes()
    monitor = await service.check_now(
        session, org_id=principal.user.org_id, monitor_id=monitor_id, probes=probes, bus=hub.bus
    )
    return MonitorOut.of(monitor)
