"""Thresholds REST (admin, validated) and alert actions through the policy gate."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.protocol import MetricsSample
from hub.core.context import HubContext
from native_rmm.alerts import service
from tests.conftest import Tenancy


def hot(cpu: float) -> MetricsSample:
    return MetricsSample(
        taken_at=datetime.now(UTC),
        cpu_percent=cpu,
        memory_percent=1,
        memory_used_bytes=1,
        memory_total_bytes=2,
        uptime_seconds=1,
    )


async def raise_cpu_alert(hub: HubContext, org_id: int, device_id: int, cpu: float = 95) -> int:
    async with hub.db.transaction() as session:
        await service.evaluate_sample(session, org_id=org_id, device_id=device_id, sample=hot(cpu))
        [alert] = await service.list_alerts(session, org_id=org_id, device_id=device_id, active_only=True)
        return alert.id


async def test_thresholds_rest_is_admin_only_and_validated(tenancy: Tenancy, client_for) -> None:
    admin, operator = client_for(tenancy.admin), client_for(tenancy.operator)
    got = await admin.get("/api/v1/rmm/thresholds")
    assert got.status_code == 200
    assert got.json()["cpu_warn"] == 80 and got.json()["is_default"] is True
    assert (await operator.get("/api/v1/rmm/thresholds")).status_code == 403
    values = {
        "cpu_warn": 70,
        "cpu_danger": 85,
        "memory_warn": 80,
        "memory_danger": 90,
        "disk_warn": 90,
        "disk_danger": 99,
    }
    assert (await operator.put("/api/v1/rmm/thresholds", json=values)).status_code == 403
    bad = await admin.put("/api/v1/rmm/thresholds", json=values | {"disk_warn": 99})
    assert bad.status_code == 422 and "warn threshold (99%) must be below the danger threshold" in bad.json()["message"]
    over = await admin.put("/api/v1/rmm/thresholds", json=values | {"disk_danger": 101})
    assert over.status_code == 422
    saved = await admin.put("/api/v1/rmm/thresholds", json=values)
    assert saved.status_code == 200 and saved.json()["is_default"] is False and saved.json()["cpu_warn"] == 70
    assert (await admin.get("/api/v1/rmm/thresholds")).json()["disk_danger"] == 99


async def test_acknowledge_and_resolve_run_through_the_gate(
    tenancy: Tenancy, hub: HubContext, client_for, device_factory
) -> None:
    device = await device_factory(tenancy.org_id)
    alert_id = await raise_cpu_alert(hub, tenancy.org_id, device)
    operator, viewer = client_for(tenancy.operator), client_for(tenancy.viewer)

    listed = await viewer.get("/api/v1/rmm/alerts", params={"active": "true", "device_id": device})
    assert [a["id"] for a in listed.json()] == [alert_id] and listed.json()[0]["severity"] == "critical"
    assert (await viewer.post(f"/api/v1/rmm/alerts/{alert_id}/acknowledge", json={})).status_code == 403

    acked = await operator.post(f"/api/v1/rmm/alerts/{alert_id}/acknowledge", json={"reason": "on it"})
    assert acked.status_code == 200 and acked.json()["status"] == "done"  # classifier seeds auto
    assert acked.json()["result"]["status"] == "acknowledged" and acked.json()["result"]["acknowledged_by"] == "olga"
    again = await operator.post(f"/api/v1/rmm/alerts/{alert_id}/acknowledge", json={})
    assert again.status_code == 200 and again.json()["result"]["status"] == "acknowledged"  # idempotent

    resolved = await operator.post(f"/api/v1/rmm/alerts/{alert_id}/resolve", json={})
    body = resolved.json()["result"]
    assert body["status"] == "resolved" and body["auto_resolved"] is False and body["resolved_by"] == "olga"
    late = await operator.post(f"/api/v1/rmm/alerts/{alert_id}/acknowledge", json={})
    assert late.status_code == 409 and "already resolved" in late.json()["message"]
    missing = await operator.post("/api/v1/rmm/alerts/999999/resolve", json={})
    assert missing.status_code == 404

    audit = (
        await client_for(tenancy.admin).get("/api/v1/audit", params={"tool": "native_rmm:rmm-resolve-alert"})
    ).json()
    assert any(e["event"] == "tool.executed" for e in audit)


async def test_list_alerts_tool_filters(tenancy: Tenancy, hub: HubContext, client_for, device_factory) -> None:
    first = await device_factory(tenancy.org_id, hostname="a")
    second = await device_factory(tenancy.org_id, hostname="b")
    await raise_cpu_alert(hub, tenancy.org_id, first, cpu=85)
    await raise_cpu_alert(hub, tenancy.org_id, second, cpu=95)
    viewer = client_for(tenancy.viewer)

    async def invoke(args: dict[str, object]) -> dict[str, object]:
        response = await viewer.post("/api/v1/tools/rmm-list-alerts/invoke", json={"args": args})
        assert response.status_code == 200, response.text
        result: dict[str, object] = response.json()["result"]
        return result

    assert (await invoke({}))["count"] == 2
    critical = await invoke({"severity": "critical"})
    assert [a["device_id"] for a in critical["alerts"]] == [second]  # type: ignore[index]
    assert (await invoke({"device_id": first}))["count"] == 1
    assert (await invoke({"status": "resolved"}))["count"] == 0
    bad = await viewer.post("/api/v1/tools/rmm-list-alerts/invoke", json={"args": {"status": "sleeping"}})
    assert bad.status_code == 422 and "$.status" in bad.json()["message"]
