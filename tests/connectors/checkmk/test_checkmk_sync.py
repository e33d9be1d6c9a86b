"""Checkmk end to end in the hub (REST, tools through the gate, the rule engine) against the loopback
contract site, on SQLite and PostgreSQL: connect (bad input 422, refused credentials store nothing),
sync and map hosts to devices, checkmk alerts that an alert rule turns into a ticket and that resolve
(closing the ticket) when the host recovers, a revoked secret that loses nothing, and disconnect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from connectors.checkmk import service
from connectors.checkmk.models import CheckmkConnection, CheckmkHost
from connectors.checkmk.module import SYNC_JOB
from hub.core.audit import SYSTEM_ACTOR
from hub.core.context import HubContext
from native_rmm.automation.engine import RuleEngine
from tests.conftest import Tenancy, TestUser
from tests.connectors.checkmk.cmk_site import CheckmkSite, FakeHost, FakeService
from tests.e2e.conftest import set_policy
from tests.native_rmm.conftest import make_device

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _json(response: httpx.Response, *codes: int) -> Any:
    assert response.status_code in (codes or (200,)), response.text
    return response.json()


async def _tool(client: httpx.AsyncClient, name: str, args: dict[str, Any], code: int = 200) -> Any:
    return await _json(await client.post(f"/api/v1/tools/checkmk:{name}/invoke", json={"args": args}), code)


async def _alerts(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    rows = await _json(await client.get("/api/v1/rmm/alerts", params={"source": "checkmk", "limit": 1000}))
    return {r["message"].split()[2].rstrip(":"): r for r in rows}


def _connect_body(cmk: CheckmkSite, **overrides: str) -> dict[str, str]:
    return {"url": cmk.url, "site": cmk.site, "username": cmk.username, "secret": cmk.secret, **overrides}


async def test_bad_input_is_422_with_the_field(client_for: Clients, tenancy: Tenancy, cmk_site: CheckmkSite) -> None:
    admin = client_for(tenancy.admin)
    for bad, field in [
        ({"url": "ftp://mon"}, "url"),
        ({"site": "my site"}, "site"),
        ({"secret": ""}, "secret"),
        ({"username": "two words"}, "username"),
    ]:
        response = await admin.post("/api/v1/integrations/checkmk", json=_connect_body(cmk_site, **bad))
        assert response.status_code == 422, response.text
        assert field in response.text and "Traceback" not in response.text
    extra = await admin.post("/api/v1/integrations/checkmk", json={**_connect_body(cmk_site), "token": "x"})
    assert extra.status_code == 422
    # Only admins connect.
    operator = client_for(tenancy.operator)
    assert (await operator.post("/api/v1/integrations/checkmk", json=_connect_body(cmk_site))).status_code == 403
    # Tool arguments are checked too: a 422 naming the path, nothing run.
    bad_limit = await admin.post("/api/v1/tools/checkmk:checkmk-list-hosts/invoke", json={"args": {"limit": 0}})
    assert bad_limit.status_code == 422 and "limit" in bad_limit.text
    assert cmk_site.paths() == []


async def test_refused_credentials_store_nothing(client_for: Clients, tenancy: Tenancy, cmk_site: CheckmkSite) -> None:
    admin = client_for(tenancy.admin)
    refused = await _json(
        await admin.post("/api/v1/integrations/checkmk", json=_connect_body(cmk_site, secret="wrong")), 400
    )
    assert refused["status"] == "error" and "401" in refused["message"]
    assert "automation user and its secret" in refused["message"] and "wrong" not in refused["message"]
    assert (await _json(await admin.get("/api/v1/integrations/checkmk")))["status"] == "not_connected"
    # A tool before any connection says what to do.
    listed = await admin.post("/api/v1/tools/checkmk:checkmk-list-hosts/invoke", json={"args": {}})
    assert "Admin > Checkmk" in listed.text


async def test_sync_map_alerts_rules_recovery_revoked_secret_disconnect(
    hub: HubContext, client_for: Clients, tenancy: Tenancy, cmk_site: CheckmkSite
) -> None:
    admin, approver = client_for(tenancy.admin), client_for(tenancy.approver)
    org = tenancy.org_id
    web = await make_device(hub.db, org, hostname="web01.acme.local")
    db = await make_device(hub.db, org, hostname="DB01")
    mail = await make_device(hub.db, org, hostname="mail01")
    cmk_site.add(FakeHost("web01", services=[FakeService("CPU"), FakeService("Memory")]))
    cmk_site.add(FakeHost("db01", state=1, output="CRIT - 10.0.0.9: Host unreachable", services=[FakeService("CPU")]))
    cmk_site.add(FakeHost("app01", services=[FakeService("CPU"), FakeService("Disk /", 1, "WARN - 85% used")]))
    cmk_site.add(FakeHost("mail01", services=[FakeService("SMTP")]))
    cmk_site.add(FakeHost("new01"))
    cmk_site.unactivated.add("new01")  # configured in Setup, not yet activated: pending, no alert

    # An alert rule on Checkmk hosts: critical -> a native ticket (rules are approved like any write; the
    # ticket tool runs automatically here, as in the rule end-to-end test).
    await set_policy(admin, "native_rmm:rmm-create-ticket", "auto")
    await set_policy(admin, "native_rmm:rmm-update-ticket", "auto")
    rule = await _json(
        await admin.post(
            "/api/v1/rmm/alert-rules",
            json={
                "name": "checkmk critical",
                "match": {"severities": ["critical"], "sources": ["checkmk"]},
                "actions": [{"kind": "ticket", "priority": "high"}],
            },
        ),
        202,
    )
    approved = await _json(await approver.post(f"/api/v1/approvals/{rule['approval_id']}/approve", json={"note": "ok"}))
    rule_id = approved["result"]["id"]

    connected = await _json(await admin.post("/api/v1/integrations/checkmk", json=_connect_body(cmk_site)))
    assert connected["status"] == "connected" and connected["checkmk_version"] == "2.3.0p5"
    assert connected["sync"] == {
        "hosts": 5,
        "added": 5,
        "updated": 0,
        "removed": 0,
        "mapped": 3,
        "raised": 2,
        "resolved": 0,
    }
    # The secret is stored only encrypted, and no answer carries it.
    async with hub.db.sessionmaker() as session:
        row = (await session.execute(select(CheckmkConnection))).scalar_one()
        assert row.secret_encrypted and cmk_site.secret not in row.secret_encrypted
    shown = await _json(await admin.get("/api/v1/integrations/checkmk"))
    assert shown["status"] == "connected" and cmk_site.secret not in str(shown)

    hosts = (await _tool(admin, "checkmk-list-hosts", {}))["result"]
    by_name = {h["name"]: h for h in hosts["hosts"]}
    assert [h["name"] for h in hosts["hosts"]][:2] == ["db01", "app01"]  # worst first
    assert by_name["web01"]["device_id"] == web and by_name["db01"]["device_id"] == db
    assert by_name["mail01"]["device_id"] == mail and by_name["app01"]["device_id"] is None
    assert by_name["db01"]["state"] == "down" and by_name["db01"]["health"] == "critical"
    assert by_name["app01"]["services"] == {"ok": 1, "warn": 1, "crit": 0, "unknown": 0, "pending": 0}
    assert by_name["new01"]["state"] == "pending" and by_name["new01"]["health"] == "ok"
    critical = (await _tool(admin, "checkmk-list-hosts", {"health": ["critical"]}))["result"]
    assert [h["name"] for h in critical["hosts"]] == ["db01"]

    services = (await _tool(admin, "checkmk-get-host-services", {"host_name": "app01"}))["result"]
    assert services["counts"]["warn"] == 1 and services["services"][0]["description"] == "Disk /"
    assert services["services"][0]["state"] == "WARN" and "85%" in services["services"][0]["plugin_output"]

    alerts = await _alerts(admin)
    assert alerts["db01"]["severity"] == "critical" and alerts["db01"]["device_id"] == db
    assert alerts["app01"]["severity"] == "warning" and alerts["app01"]["device_id"] is None
    assert set(alerts) == {"db01", "app01"}

    # The existing rule engine sees the checkmk alert: a ticket for db01 only (the rule wants critical).
    engine = hub.components.get(RuleEngine)
    assert await engine.tick() >= 1
    runs = await _json(await admin.get(f"/api/v1/rmm/alert-rules/{rule_id}/runs"))
    assert [(r["action"], r["status"]) for r in runs] == [("ticket", "done")]
    ticket = await _json(await admin.get(f"/api/v1/rmm/tickets/{runs[0]['ticket_id']}"))
    assert alerts["db01"]["id"] in ticket["alert_ids"]

    # Map by hand: app01 -> mail01's device; its active alert follows. Then back to automatic.
    mapped = (await _tool(admin, "checkmk-map-host", {"host_name": "app01", "device_id": mail}))["result"]
    assert mapped["map_mode"] == "manual" and mapped["device_label"] == "mail01"
    assert (await _alerts(admin))["app01"]["device_id"] == mail
    missing = await _tool(admin, "checkmk-map-host", {"host_name": "app01", "device_id": 999999}, 400)
    assert missing["status"] == "failed" and "no device #999999" in missing["message"]
    unknown_host = await _tool(admin, "checkmk-map-host", {"host_name": "nope01", "device_id": mail}, 400)
    assert unknown_host["status"] == "failed" and "checkmk-list-hosts" in unknown_host["message"]
    # A manual mapping survives the next sync.
    await _tool(admin, "checkmk-sync-hosts", {})
    hosts = (await _tool(admin, "checkmk-list-hosts", {"name_contains": "APP"}))["result"]
    assert hosts["hosts"][0]["device_id"] == mail and hosts["hosts"][0]["map_mode"] == "manual"

    # Recovery: db01 comes back up -> its alert resolves, and the rule closes the ticket.
    cmk_site.hosts["db01"].state = 0
    cmk_site.hosts["db01"].output = "OK - 10.0.0.9: rta 0.1ms"
    synced = (await _tool(admin, "checkmk-sync-hosts", {}))["result"]
    assert synced["status"] == "ok" and synced["resolved"] == 1 and synced["raised"] == 0
    resolved = await _json(await admin.get(f"/api/v1/rmm/alerts/{alerts['db01']['id']}"))
    assert resolved["status"] == "resolved" and resolved["auto_resolved"]
    await engine.tick()
    after = await _json(await admin.get(f"/api/v1/rmm/alert-rules/{rule_id}/runs"))
    closed = await _json(await admin.get(f"/api/v1/rmm/tickets/{ticket['id']}"))
    assert closed["status"] == "closed", after

    # The secret is rotated in Checkmk: the sync says so (401) and loses nothing.
    cmk_site.secret = "rotated"
    refused = (await _tool(admin, "checkmk-sync-hosts", {}))["result"]
    assert refused["status"] == "error" and "401" in refused["message"]
    shown = await _json(await admin.get("/api/v1/integrations/checkmk"))
    assert shown["status"] == "error" and "automation user and its secret" in shown["last_error"]
    assert (await _tool(admin, "checkmk-list-hosts", {}))["result"]["count"] == 5
    assert set(await _alerts(admin)) >= {"app01"}
    live = await _tool(admin, "checkmk-get-host-services", {"host_name": "web01"}, 400)
    assert live["status"] == "failed" and "401" in live["message"]

    # A host that leaves the site is removed and its alert resolves (after reconnecting with the new secret).
    cmk_site.hosts.pop("app01")
    again = await _json(await admin.post("/api/v1/integrations/checkmk", json=_connect_body(cmk_site)))
    assert again["sync"]["removed"] == 1 and again["sync"]["resolved"] == 1
    active = [a for a in (await _alerts(admin)).values() if a["status"] != "resolved"]
    assert active == []

    # Disconnect: hosts gone, secret wiped.
    gone = await _json(await admin.delete("/api/v1/integrations/checkmk"))
    assert gone["hosts_removed"] == 4
    async with hub.db.sessionmaker() as session:
        row = (await session.execute(select(CheckmkConnection))).scalar_one()
        assert row.secret_encrypted is None
        assert (await session.execute(select(CheckmkHost))).first() is None


async def test_scheduled_sync_of_a_large_site(
    hub: HubContext, tenancy: Tenancy, client_for: Clients, cmk_site: CheckmkSite
) -> None:
    """The leader's job (``sync_all``) against 3,000 hosts: one sync, bounded work, every host stored."""
    import time

    admin = client_for(tenancy.admin)
    await _json(await admin.post("/api/v1/integrations/checkmk", json=_connect_body(cmk_site)))
    for i in range(3000):
        cmk_site.add(FakeHost(f"srv-{i:04d}", state=1 if i % 100 == 0 else 0, services=[FakeService("CPU", i % 2)]))
    manager = service.manager_of(hub)
    # The job is the scheduler's (which runs jobs on the leader replica only) and syncs every site.
    (job,) = [j for j in hub.scheduler.jobs if j.name == SYNC_JOB]
    assert job.seconds == manager.settings.sync_interval_seconds
    started = time.perf_counter()
    assert await job.func() == 1
    first = time.perf_counter() - started
    async with hub.db.sessionmaker() as session:
        result = await service.status(session, tenancy.org_id)
    counts = result.last_sync_counts
    assert counts["hosts"] == 3000 and counts["added"] == 3000
    # 1,500 odd hosts have a WARN service; 30 more (every 100th, all even) are DOWN.
    assert counts["raised"] == 1530
    started = time.perf_counter()
    (again,) = (await service.sync_all(manager)).values()
    second = time.perf_counter() - started
    assert again.added == 0 and again.updated == 0 and again.raised == 0 and again.hosts == 3000
    print(f"3,000 hosts: first sync {first:.2f} s, unchanged re-sync {second:.2f} s")


async def test_two_syncs_at_once_store_each_host_once(
    hub: HubContext, tenancy: Tenancy, client_for: Clients, cmk_site: CheckmkSite
) -> None:
    """Sync now pressed while the scheduled sync runs: they take turns, every host is stored once."""
    import asyncio

    admin = client_for(tenancy.admin)
    await _json(await admin.post("/api/v1/integrations/checkmk", json=_connect_body(cmk_site)))
    for i in range(200):
        cmk_site.add(FakeHost(f"pc-{i:03d}", services=[FakeService("CPU", 2 if i % 10 == 0 else 0)]))
    manager = service.manager_of(hub)

    async def one() -> str:
        async with hub.db.transaction() as session:
            return (await service.sync(session, manager, org_id=tenancy.org_id, actor=SYSTEM_ACTOR)).status

    assert await asyncio.gather(one(), one()) == ["ok", "ok"]
    async with hub.db.sessionmaker() as session:
        assert len((await session.execute(select(CheckmkHost.name))).all()) == 200
    alerts = await _json(await admin.get("/api/v1/rmm/alerts", params={"source": "checkmk", "limit": 1000}))
    assert len(alerts) == 20
