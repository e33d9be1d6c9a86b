"""Customers and sites over REST and ``rmmhub customer`` (a REST client): both go through the gate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from click.testing import CliRunner

from native_rmm.customer_cli import customer
from tests.conftest import LiveServer, Tenancy, TestUser

Clients = Callable[[TestUser], httpx.AsyncClient]


async def test_rest_customers_sites_moves(tenancy: Tenancy, client_for: Clients, device_factory: object) -> None:
    admin, operator = client_for(tenancy.admin), client_for(tenancy.operator)
    device = await device_factory(tenancy.org_id, hostname="brs-pc-01")  # type: ignore[operator]
    r = await operator.post("/api/v1/rmm/customers", json={"name": "Contoso"})
    assert r.status_code == 403 and "needs admin" in r.json()["message"]
    r = await admin.post("/api/v1/rmm/customers", json={"name": "Contoso", "first_site": "Bristol"})
    assert r.status_code == 200, r.text
    contoso = r.json()["result"]
    assert (await admin.post("/api/v1/rmm/customers", json={"name": "Contoso"})).status_code == 409
    assert (await admin.post("/api/v1/rmm/customers", json={"name": ""})).status_code == 422
    site = (await admin.post(f"/api/v1/rmm/customers/{contoso['id']}/sites", json={"name": "Leeds"})).json()["result"]
    r = await operator.post(
        "/api/v1/rmm/devices/move", json={"targets": {"device_ids": [device]}, "site_id": site["id"]}
    )
    assert r.status_code == 200 and r.json()["result"]["site"] == "Leeds", r.text
    r = await admin.patch(f"/api/v1/rmm/sites/{site['id']}", json={"archived": True})
    assert r.status_code == 409 and "move them" in r.json()["message"]
    r = await operator.post("/api/v1/rmm/devices/tags", json={"targets": {"site_id": site["id"]}, "add": ["leeds"]})
    assert r.status_code == 200 and r.json()["result"]["devices"][0]["tags"] == ["leeds"]
    r = await operator.post("/api/v1/rmm/groups", json={"name": "Leeds", "filter": {"tag": "leeds"}})
    assert r.status_code == 200, r.text
    members = await operator.get(f"/api/v1/rmm/groups/{r.json()['result']['id']}/devices")
    assert [d["id"] for d in members.json()["result"]["devices"]] == [device]
    assert (await admin.patch("/api/v1/rmm/customers/99999", json={"name": "x"})).status_code == 404
    listed = (await client_for(tenancy.viewer).get("/api/v1/rmm/customers")).json()["result"]
    assert [(c["name"], c["device_count"]) for c in listed] == [("Unassigned", 0), ("Contoso", 1)]


def _cli(url: str, user: TestUser, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(customer, ["--hub", url, "--token", user.token, *args])
    return result.exit_code, result.output


async def test_cli(tenancy: Tenancy, live_server: LiveServer) -> None:
    url = live_server.url

    async def cli(user: TestUser, *args: str) -> tuple[int, str]:
        return await asyncio.to_thread(_cli, url, user, *args)

    code, out = await cli(tenancy.admin, "create", "Fabrikam", "--site", "HQ")
    assert code == 0 and "created customer" in out and "HQ" in out, out
    customer_id = out.split("#")[1].split()[0]
    code, out = await cli(tenancy.admin, "add-site", customer_id, "Annex")
    assert code == 0 and "Annex for Fabrikam" in out, out
    code, out = await cli(tenancy.admin, "rename", customer_id, "Fabrikam Inc")
    assert code == 0 and "is now Fabrikam Inc" in out
    code, out = await cli(tenancy.operator, "archive", customer_id)
    assert code != 0 and "needs admin" in out
    code, out = await cli(tenancy.admin, "archive", customer_id)
    assert code == 0 and "archived" in out
    code, out = await cli(tenancy.viewer, "list")
    assert code == 0 and "Fabrikam Inc (archived)" in out and "site #" in out
    code, out = await cli(tenancy.admin, "site", "1")
    assert code != 0 and "--name" in out
