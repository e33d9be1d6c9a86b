"""Several organisations, each with its own ConnectWise tenant, never see each other's tools or data."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from cw_tenant import FakeTenant, shell_script
from cw_world import CWWorld, connect_org

from hub.core.auth.service import create_api_token, create_user
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.roles import Role
from hub.core.tenancy import create_organization
from tests.conftest import Tenancy, TestUser

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _second_org(db: Database) -> tuple[int, TestUser]:
    async with db.transaction() as session:
        org = await create_organization(session, name="Beta IT")
        user = await create_user(session, org_id=org.id, username="zed", password="zed-password-123", role=Role.ADMIN)
        token, _ = await create_api_token(session, user, name="tests")
    return org.id, TestUser(user.id, "zed", "zed-password-123", Role.ADMIN, org.id, token)


async def test_two_orgs_with_their_own_tenants(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext, db: Database
) -> None:
    beta_org, zed = await _second_org(db)
    beta = cw_world.add(
        FakeTenant(
            client_id="0e32-client-beta",
            client_secret="Beta-key",
            scripts=[shell_script("beef0000-0000-4000-8000-000000000001", "Beta Only Script")],
            companies=[{"id": "beta-company", "name": "Beta Customer"}],
        )
    )
    assert (await connect_org(client_for(tenancy.admin), tenant)).status_code == 200
    assert (await connect_org(client_for(zed), beta, region="eu")).status_code == 200

    def names(org_id: int) -> set[str]:
        return {t.name for t in hub.registry.visible(org_id) if t.source == "connectwise_rmm"}

    assert "cw-rmm-script-beta-only-script" in names(beta_org)
    assert "cw-rmm-script-beta-only-script" not in names(tenancy.org_id)
    assert "cw-rmm-script-disk-cleanup" not in names(beta_org)

    acme_tools = (await client_for(tenancy.admin).get("/api/v1/tools", params={"source": "connectwise_rmm"})).json()
    assert "cw-rmm-script-beta-only-script" not in {t["name"] for t in acme_tools}
    r = await client_for(tenancy.operator).post(
        "/api/v1/tools/cw-rmm-script-beta-only-script/invoke", json={"args": {"endpoint_ids": ["x"]}}
    )
    assert r.status_code == 404

    acme = await client_for(tenancy.viewer).post("/api/v1/tools/cw-rmm-list-companies/invoke", json={"args": {}})
    beta_answer = await client_for(zed).post("/api/v1/tools/cw-rmm-list-companies/invoke", json={"args": {}})
    assert [c["name"] for c in acme.json()["result"]["companies"]] == ["Acme Pty Ltd"]
    assert [c["name"] for c in beta_answer.json()["result"]["companies"]] == ["Beta Customer"]
    assert (await client_for(zed).get("/api/v1/integrations/connectwise-rmm")).json()["region"] == "eu"

    # disconnecting one org leaves the other untouched
    await client_for(zed).delete("/api/v1/integrations/connectwise-rmm")
    assert names(beta_org) == set()
    assert "cw-rmm-script-disk-cleanup" in names(tenancy.org_id)
