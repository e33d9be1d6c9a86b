"""Enrollment with Base and scoped installers, refusals, install scripts, credentials, manual devices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import select

from agent.protocol import ENROLL_PATH, PROTOCOL_HEADER, AgentApiError, ErrorCode
from hub.core.audit import SYSTEM_ACTOR
from hub.core.db import Database, utcnow
from hub.core.models import Site
from hub.core.tenancy import create_customer, unassigned_site
from native_rmm.agent_api.schemas import CREDENTIAL_ROTATE_PATH, CredentialRotateResponse
from native_rmm.installers import service as installers
from native_rmm.models.devices import Device
from native_rmm.models.installers import Installer
from native_rmm.testing.agentsim import SimAgent
from tests.conftest import Tenancy


async def _scoped(db: Database, org_id: int, **kwargs: object) -> tuple[str, Installer]:
    async with db.transaction() as session:
        installer = await installers.create_installer(session, org_id=org_id, name="Acme", actor=SYSTEM_ACTOR, **kwargs)  # type: ignore[arg-type]
        return installers.installer_token(session, installer), installer


def _error(response: httpx.Response) -> AgentApiError:
    return AgentApiError.model_validate_json(response.content)


async def test_base_installer_lands_in_unassigned(agent: SimAgent, db: Database, tenancy: Tenancy) -> None:
    async with db.transaction() as session:
        device = await session.get(Device, agent.device_id)
        assert device is not None
        assert device.site_id == (await unassigned_site(session, tenancy.org_id)).id
        assert device.hostname == "SIM-01" and device.installer_id is not None


async def test_scoped_installer_lands_in_its_site(
    make_agent: Callable[..., SimAgent], db: Database, tenancy: Tenancy
) -> None:
    async with db.transaction() as session:
        customer = await create_customer(session, org_id=tenancy.org_id, name="Acme Ltd")
    token, _ = await _scoped(db, tenancy.org_id, customer_id=customer.id)
    sim = make_agent("ACME-01")
    await sim.enroll(token)
    async with db.transaction() as session:
        device = await session.get(Device, sim.device_id)
        assert device is not None
        site = await session.get(Site, device.site_id)
        assert site is not None and site.customer_id == customer.id and site.name == "Main"


async def test_refused_tokens(make_agent: Callable[..., SimAgent], db: Database, tenancy: Tenancy) -> None:
    sim = make_agent()
    unknown = await sim.enroll_raw("rmi_not-a-real-token")
    assert unknown.status_code == 401 and _error(unknown).code is ErrorCode.INVALID_TOKEN

    once, installer = await _scoped(db, tenancy.org_id, max_uses=1)
    await sim.enroll(once)
    used_up = await make_agent("SIM-02").enroll_raw(once)
    assert used_up.status_code == 403 and "maximum of 1" in _error(used_up).message

    expiring, installer = await _scoped(db, tenancy.org_id, expires_at=utcnow() + timedelta(hours=1))
    async with db.transaction() as session:
        row = await session.get(Installer, installer.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    expired = await make_agent("SIM-03").enroll_raw(expiring)
    assert expired.status_code == 403 and "expired" in _error(expired).message

    revoked_token, installer = await _scoped(db, tenancy.org_id)
    async with db.transaction() as session:
        await installers.revoke_installer(session, org_id=tenancy.org_id, installer_id=installer.id, actor=SYSTEM_ACTOR)
    revoked = await make_agent("SIM-04").enroll_raw(revoked_token)
    assert revoked.status_code == 403 and "revoked" in _error(revoked).message
    async with db.transaction() as session:
        hostnames = (await session.execute(select(Device.hostname))).scalars().all()
    assert hostnames == ["SIM-01"]


async def test_unsupported_protocol_version_is_426(make_agent: Callable[..., SimAgent], base_token: str) -> None:
    sim = make_agent()
    response = await sim.http.post(ENROLL_PATH, content=b"{}", headers={PROTOCOL_HEADER: "7"})
    assert response.status_code == 426
    error = _error(response)
    assert error.code is ErrorCode.UNSUPPORTED_PROTOCOL and error.supported_protocol_versions == [1]
    in_body = await sim.enroll_raw(base_token, protocol_version=9)
    assert in_body.status_code == 426


async def test_install_scripts_per_os(anon: httpx.AsyncClient, base_token: str) -> None:
    linux = await anon.get(f"/install/{base_token}/linux")
    assert linux.status_code == 200 and base_token in linux.text and linux.text.startswith("#!")
    windows = await anon.get(f"/install/{base_token}/windows")
    assert windows.status_code == 200 and base_token in windows.text
    assert (await anon.get("/install/rmi_unknown-token-xyz/linux")).status_code == 404
    assert (await anon.get(f"/install/{base_token}/solaris")).status_code == 422


async def test_admin_lists_installers_with_commands(
    client_for: Callable[..., httpx.AsyncClient], tenancy: Tenancy, base_token: str
) -> None:
    admin = client_for(tenancy.admin)
    listed = (await admin.get("/api/v1/rmm/installers")).json()
    assert listed[0]["kind"] == "base" and listed[0]["token"] == base_token
    assert listed[0]["commands"]["linux"] == f"curl -fsSL http://hub.test/install/{base_token}/linux | sudo bash"
    created = await admin.post("/api/v1/rmm/installers", json={"name": "Acme HQ", "max_uses": 5})
    assert created.status_code == 201 and created.json()["max_uses"] == 5
    assert (await client_for(tenancy.operator).get("/api/v1/rmm/installers")).status_code == 403
    revoke_base = await admin.post(f"/api/v1/rmm/installers/{listed[0]['id']}/revoke")
    assert revoke_base.status_code == 409


async def test_manual_device_creation_is_admin_only(
    client_for: Callable[..., httpx.AsyncClient], tenancy: Tenancy, make_agent: Callable[..., SimAgent]
) -> None:
    denied = await client_for(tenancy.operator).post("/api/v1/rmm/devices", json={"hostname": "MANUAL-01"})
    assert denied.status_code == 403
    created = await client_for(tenancy.admin).post("/api/v1/rmm/devices", json={"hostname": "MANUAL-01"})
    assert created.status_code == 201
    sim = make_agent("MANUAL-01")
    sim.credential, sim.device_id = created.json()["device_credential"], created.json()["device_id"]
    await sim.checkin()


async def test_rotate_then_revoke_credentials(
    agent: SimAgent, client_for: Callable[..., httpx.AsyncClient], tenancy: Tenancy
) -> None:
    old = agent.credential
    rotated = await agent.post(CREDENTIAL_ROTATE_PATH, b"")
    assert rotated.status_code == 200
    answer = CredentialRotateResponse.model_validate_json(rotated.content)
    await agent.checkin()  # the old credential works during the grace period
    agent.credential = answer.device_credential
    await agent.checkin()
    revoked = await client_for(tenancy.admin).post(f"/api/v1/rmm/devices/{agent.device_id}/credentials/revoke")
    assert revoked.json()["revoked"] == 2
    for credential in (old, answer.device_credential):
        agent.credential = credential
        response = await agent.post("/agent/v1/checkin", agent.checkin_body().model_dump_json())
        assert response.status_code == 401 and _error(response).code is ErrorCode.INVALID_CREDENTIAL
