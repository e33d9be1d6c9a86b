"""Admin REST routes for devices that are not tools: manual creation and credential revocation.

Everything an operator does to a device (commands, patches, uninstall) is a tool and goes through
the policy gate (``POST /api/v1/tools/<name>/invoke``); these two are admin configuration, audited.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from agent.protocol import OsFamily
from hub.core import audit
from hub.core.audit import AuditEvent
from hub.core.bounds import Id
from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, SessionDep
from native_rmm.devices import credentials, service

router = APIRouter(prefix="/api/v1/rmm/devices", tags=["rmm-devices"])


class DeviceCreate(BaseModel):
    """Body of ``POST /api/v1/rmm/devices``."""

    model_config = ConfigDict(extra="forbid")

    hostname: str = Field(min_length=1, max_length=255)
    display_name: str = Field(default="", max_length=255)
    site_id: Id | None = None
    os_family: OsFamily | None = None


class DeviceCreated(BaseModel):
    """The new device and its credential (shown once; configure the agent with it)."""

    device_id: Id
    hostname: str
    site_id: Id
    device_credential: str


class Revoked(BaseModel):
    """How many credentials were revoked."""

    device_id: Id
    revoked: int


@router.post("", response_model=DeviceCreated, status_code=201)
async def create_device(body: DeviceCreate, session: SessionDep, admin: AdminDep) -> DeviceCreated:
    """Create a device by hand (admin only; installers are the supported way)."""
    caller = admin.caller(CallerKind.API)
    device, plain = await service.create_device(
        session,
        org_id=caller.org_id,
        hostname=body.hostname,
        actor=caller.actor,
        site_id=body.site_id,
        os_family=body.os_family,
        display_name=body.display_name,
    )
    return DeviceCreated(device_id=device.id, hostname=device.hostname, site_id=device.site_id, device_credential=plain)


@router.post("/{device_id}/credentials/revoke", response_model=Revoked)
async def revoke_device_credentials(device_id: Id, session: SessionDep, admin: AdminDep) -> Revoked:
    """Revoke every credential of a device: its agent is refused until re-enrolled (admin; audited)."""
    caller = admin.caller(CallerKind.API)
    device = await service.get_device(session, org_id=caller.org_id, device_id=device_id)
    count = await credentials.revoke_credentials(session, device_id=device.id, reason=f"revoked by {caller.label}")
    audit.record(
        session,
        event=AuditEvent.DEVICE_CHANGED,
        actor=caller.actor,
        org_id=caller.org_id,
        outcome="device.credentials_revoked",
        detail={"device_id": device.id, "revoked": count},
    )
    return Revoked(device_id=device.id, revoked=count)
