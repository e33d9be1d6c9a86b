"""Connecting a tenant over REST: success, the exact upstream reasons for failures, secrets at rest."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from cw_tenant import FakeTenant
from cw_world import CWWorld, connect_org
from sqlalchemy import select, text

from connectors.connectwise_rmm.client.scopes import MINIMAL_SCOPES
from connectors.connectwise_rmm.models import ConnectionStatus, CWConnection
from connectors.connectwise_rmm.tools import STATIC_TOOL_NAMES
from hub.core.audit import AuditEntry
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.security import SecretBox
from policies.pipeline import Gate
from tests.conftest import SECRET, Tenancy, TestUser

Clients = Callable[[TestUser], httpx.AsyncClient]
URL = "/api/v1/integrations/connectwise-rmm"


async def test_connect_registers_static_and_script_tools(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext
) -> None:
    version = hub.registry.version
    r = await connect_org(client_for(tenancy.admin), tenant)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "connected"
    assert body["tools_registered"] == len(STATIC_TOOL_NAMES) + 2  # the inactive script is skipped
    assert "Connected to ConnectWise RMM (AU)" in body["message"]
    assert hub.registry.version > version

    token_calls = tenant.calls("POST", "/v1/token")
    assert len(token_calls) == 1
    assert token_calls[0].body["grant_type"] == "client_credentials"

    tools = (await client_for(tenancy.operator).get("/api/v1/tools", params={"source": "connectwise_rmm"})).json()
    names = {t["name"]: t for t in tools}
    assert set(STATIC_TOOL_NAMES) <= set(names)
    assert {"cw-rmm-script-disk-cleanup", "cw-rmm-script-restart-print-spooler"} <= set(names)
    assert names["cw-rmm-list-devices"]["policy"]["mode"] == "auto"
    assert names["cw-rmm-run-task"]["policy"]["mode"] == "approval"
    assert names["cw-rmm-create-ticket"]["policy"]["mode"] == "approval"
    assert names["cw-rmm-script-disk-cleanup"]["policy"]["mode"] == "approval"

    status = (await client_for(tenancy.admin).get(URL)).json()
    assert status["status"] == "connected" and status["client_id"] == tenant.client_id
    assert status["region"] == "au" and status["script_tools"] == 2 and status["static_tools"] == 18
    assert status["last_discovery_at"] is not None
    # the connect reused its token: nothing minted again for the status or tool listing
    assert tenant.tokens_minted == 1


async def test_wrong_secret_answers_the_exact_reason_and_stores_nothing(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, db: Database
) -> None:
    body = {"client_id": tenant.client_id, "client_secret": "not-the-key", "region": "au"}
    r = await client_for(tenancy.admin).post(URL, json=body)
    assert r.status_code == 400
    answer = r.json()
    assert answer["status"] == "error"
    assert "HTTP 401" in answer["message"] and "Client authentication failed" in answer["message"]
    assert answer["tools_registered"] == 0
    async with db.sessionmaker() as s:
        assert (await s.execute(select(CWConnection))).scalars().all() == []
        audited = (await s.execute(select(AuditEntry).where(AuditEntry.event == "integration.changed"))).scalars()
        assert [a.outcome for a in audited if a.detail.get("integration") == "connectwise_rmm"] == ["failed"]
    tools = (await client_for(tenancy.admin).get("/api/v1/tools", params={"source": "connectwise_rmm"})).json()
    assert tools == []


async def test_locked_key_tells_the_admin_what_to_do(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    tenant.locked = True
    r = await connect_org(client_for(tenancy.admin), tenant)
    # issue 8 item 10: a locked key is "try again later" (503 + Retry-After), no longer a 400
    assert r.status_code == 503 and int(r.headers["Retry-After"]) == 300
    message = r.json()["message"]
    assert "HTTP 423" in message and "temporarily locked" in message and "Wait several minutes" in message


async def test_refused_scope_retries_once_with_the_minimal_set(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext
) -> None:
    tenant.granted_scopes = list(MINIMAL_SCOPES)
    r = await connect_org(client_for(tenancy.admin), tenant)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scopes"] == list(MINIMAL_SCOPES)
    assert "platform.tickets.read" in body["message"]  # the admin is told what the key lacks
    assert len(tenant.calls("POST", "/v1/token")) == 2

    gate = hub.components.get(Gate)
    from hub.core.caller import Caller, CallerKind

    caller = Caller(
        user_id=tenancy.operator.id,
        label="olga",
        role=tenancy.operator.role,
        org_id=tenancy.org_id,
        kind=CallerKind.API,
    )
    async with hub.db.transaction() as session:
        outcome = await gate.invoke(session, caller, "cw-rmm-list-tickets", {})
    assert outcome.status == "failed"
    assert "not granted platform.tickets.read" in outcome.message and "reconnect" in outcome.message
    assert not tenant.calls("GET", "/api/platform/v2/service/ticketing")


async def test_secret_is_encrypted_at_rest_and_never_shown(
    tenancy: Tenancy,
    client_for: Clients,
    cw_world: CWWorld,
    tenant: FakeTenant,
    db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    r = await connect_org(client_for(tenancy.admin), tenant)
    assert r.status_code == 200
    assert tenant.client_secret not in r.text
    status = await client_for(tenancy.admin).get(URL)
    assert tenant.client_secret not in status.text and "secret" not in status.json()

    async with db.sessionmaker() as s:
        raw = (await s.execute(text("SELECT client_secret_encrypted FROM cw_connections"))).scalar_one()
        assert raw and raw != tenant.client_secret and tenant.client_secret not in raw
        assert SecretBox(SECRET).decrypt(raw) == tenant.client_secret
        row = (await s.execute(select(CWConnection))).scalar_one()
        assert tenant.client_secret not in repr(row)
        details = [repr(a.detail) for a in (await s.execute(select(AuditEntry))).scalars()]
    assert details and not any(tenant.client_secret in d for d in details)
    assert tenant.client_secret not in caplog.text

    # a failed attempt with another key leaks nothing either
    bad = {"client_id": tenant.client_id, "client_secret": "Wr0ng-key-XYZ", "region": "au"}
    failed = await client_for(tenancy.admin).post(URL, json=bad)
    assert failed.status_code == 400 and "Wr0ng-key-XYZ" not in failed.text
    assert "Wr0ng-key-XYZ" not in caplog.text


async def test_only_admins_manage_the_connection(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    for user in (tenancy.approver, tenancy.operator):
        r = await connect_org(client_for(user), tenant)
        assert r.status_code == 403
    assert tenant.requests == []
    assert (await client_for(tenancy.operator).delete(URL)).status_code == 403


async def test_disconnect_removes_tools_fails_approvals_and_forgets_the_key(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, db: Database, hub: HubContext
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    pending = await client_for(tenancy.operator).post(
        "/api/v1/tools/cw-rmm-create-ticket/invoke",
        json={"args": {"summary": "s", "description": "d", "service_board_id": "b1", "source_id": "s1"}},
    )
    assert pending.status_code == 202
    approval_id = pending.json()["approval_id"]

    r = await client_for(tenancy.admin).delete(URL)
    assert r.status_code == 200, r.text
    assert r.json()["approvals_failed"] == 1 and r.json()["tools_removed"] == 20
    assert [t for t in hub.registry.visible(tenancy.org_id) if t.source == "connectwise_rmm"] == []

    approval = (await client_for(tenancy.approver).get(f"/api/v1/approvals/{approval_id}")).json()
    assert approval["status"] == "failed"
    assert "disconnected by alice" in approval["error"]

    async with db.sessionmaker() as s:
        row = (await s.execute(select(CWConnection))).scalar_one()
        assert row.status is ConnectionStatus.DISCONNECTED and row.client_secret_encrypted is None
    status = (await client_for(tenancy.admin).get(URL)).json()
    assert status["status"] == "disconnected"
    assert (await client_for(tenancy.admin).delete(URL)).status_code == 404
