"""Monitor REST: operators read, admins change; disabling or deleting resolves the monitor's alert."""

from __future__ import annotations

from monitor_servers import HttpBehaviour, port_of, start_http

from hub.core.context import HubContext
from tests.conftest import Tenancy


async def test_crud_roles_and_validation(tenancy: Tenancy, client_for) -> None:
    admin, operator, viewer = client_for(tenancy.admin), client_for(tenancy.operator), client_for(tenancy.viewer)
    body = {"name": "Site", "kind": "http", "target": "https://example.invalid/health", "failure_threshold": 2}
    assert (await operator.post("/api/v1/rmm/monitors", json=body)).status_code == 403
    created = await admin.post("/api/v1/rmm/monitors", json=body)
    assert created.status_code == 201, created.text
    monitor = created.json()
    assert monitor["failure_threshold"] == 2 and monitor["consecutive_failures"] == 0 and monitor["enabled"] is True

    assert [m["id"] for m in (await operator.get("/api/v1/rmm/monitors")).json()] == [monitor["id"]]
    assert (await viewer.get("/api/v1/rmm/monitors")).status_code == 403

    bad = await admin.post("/api/v1/rmm/monitors", json=body | {"target": "example.com"})
    assert bad.status_code == 422 and "http:// or https:// URL" in bad.json()["message"]
    bad_host = await admin.post("/api/v1/rmm/monitors", json={"name": "p", "kind": "ping", "target": "http://x/y"})
    assert bad_host.status_code == 422 and "host name or IP address" in bad_host.json()["message"]

    changed = await admin.put(
        f"/api/v1/rmm/monitors/{monitor['id']}", json={"interval_seconds": 60, "content_match": "ok"}
    )
    assert (
        changed.status_code == 200
        and changed.json()["interval_seconds"] == 60
        and changed.json()["content_match"] == "ok"
    )
    assert (await operator.put(f"/api/v1/rmm/monitors/{monitor['id']}", json={"enabled": False})).status_code == 403
    assert (await admin.delete(f"/api/v1/rmm/monitors/{monitor['id']}")).status_code == 204
    assert (await operator.get(f"/api/v1/rmm/monitors/{monitor['id']}")).status_code == 404


async def test_run_now_then_disable_resolves_the_alert(tenancy: Tenancy, hub: HubContext, client_for) -> None:
    server = await start_http(HttpBehaviour(status=500))
    try:
        admin, operator = client_for(tenancy.admin), client_for(tenancy.operator)
        body = {"name": "API", "kind": "http", "target": f"http://127.0.0.1:{port_of(server)}/", "failure_threshold": 1}
        monitor_id = (await admin.post("/api/v1/rmm/monitors", json=body)).json()["id"]
        ran = await operator.post(f"/api/v1/rmm/monitors/{monitor_id}/run")
        assert ran.status_code == 200 and ran.json()["last_state"] == "critical"
        [alert] = (await operator.get("/api/v1/rmm/alerts", params={"source": "monitor", "active": "true"})).json()
        assert alert["monitor_id"] == monitor_id and alert["severity"] == "critical"

        await admin.put(f"/api/v1/rmm/monitors/{monitor_id}", json={"enabled": False})
        after = (await operator.get(f"/api/v1/rmm/alerts/{alert['id']}")).json()
        assert after["status"] == "resolved" and after["auto_resolved"] is True and "disabled" in after["message"]
    finally:
        server.close()
        await server.wait_closed()
