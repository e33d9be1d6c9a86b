"""Alert rules match the device's tags and saved groups (as well as customer and site): through the
REST API and the gate, in the dry run and in the engine; a rule naming an unknown group is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select, update

from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from native_rmm.automation.engine import RuleEngine
from native_rmm.automation.matching import Placement, matches
from native_rmm.automation.schemas import RuleMatch
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus, MetricName
from native_rmm.models.automation import AlertRuleRun
from native_rmm.models.devices import DeviceGroup, DeviceTag
from tests.conftest import Tenancy, TestUser
from tests.native_rmm.conftest import make_device

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _json(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


async def _seed(db: Database, org_id: int) -> tuple[dict[str, int], int]:
    """Three devices (kiosk-1 tagged kiosk, till-1 tagged pos, web-1 untagged), a CPU alert on each,
    and a saved group "points of sale" (tag pos). Returns alert ids by hostname and the group id."""
    devices = {name: await make_device(db, org_id, hostname=name) for name in ("kiosk-1", "till-1", "web-1")}
    now = utcnow()
    async with db.transaction() as session:
        session.add(DeviceTag(device_id=devices["kiosk-1"], tag="kiosk"))
        session.add(DeviceTag(device_id=devices["till-1"], tag="pos"))
        group = DeviceGroup(org_id=org_id, name="points of sale", filters={"tag": "pos"})
        session.add(group)
        alerts: dict[str, Alert] = {}
        for name, device_id in devices.items():
            alerts[name] = Alert(
                org_id=org_id,
                device_id=device_id,
                source=AlertSource.METRIC,
                metric=MetricName.CPU,
                severity=AlertSeverity.CRITICAL,
                status=AlertStatus.OPEN,
                message=f"CPU 97% on {name}",
                first_seen_at=now,
                last_seen_at=now,
            )
            session.add(alerts[name])
        await session.flush()
        return {n: a.id for n, a in alerts.items()}, group.id


async def _rule(admin: httpx.AsyncClient, name: str, match: dict[str, Any]) -> int:
    body = {"name": name, "match": match, "actions": [{"kind": "ticket"}]}
    out = await _json(await admin.post("/api/v1/rmm/alert-rules", json=body))
    rule_id: int = out["result"]["id"]
    return rule_id


async def _dry_run(client: httpx.AsyncClient, rule_id: int) -> set[int]:
    out = await _json(await client.post(f"/api/v1/rmm/alert-rules/{rule_id}/dry-run"))
    result = out["result"]
    assert result["matched"] == len(result["alerts"])
    return {a["alert_id"] for a in result["alerts"]}


async def test_rules_match_tags_groups_and_customers_in_dry_run_and_engine(
    hub: HubContext, db: Database, tenancy: Tenancy, client_for: Clients
) -> None:
    admin, operator = client_for(tenancy.admin), client_for(tenancy.operator)
    await _json(
        await admin.put("/api/v1/policies/native_rmm:rmm-create-alert-rule", json={"mode": "auto", "note": "test"})
    )
    alerts, group_id = await _seed(db, tenancy.org_id)

    by_tag = await _rule(admin, "kiosks", {"tags": ["KIOSK"]})  # stored and matched lower-cased
    by_group = await _rule(admin, "tills", {"group_ids": [group_id]})
    both = await _rule(admin, "kiosk or till, critical", {"tags": ["kiosk", "pos"], "severities": ["critical"]})
    nothing = await _rule(admin, "kiosk in tills", {"tags": ["kiosk"], "group_ids": [group_id]})
    listed = await _json(await admin.get("/api/v1/rmm/alert-rules"))
    assert {r["name"]: r["match"]["tags"] for r in listed["result"]["rules"]}["kiosks"] == ["kiosk"]

    assert await _dry_run(operator, by_tag) == {alerts["kiosk-1"]}
    assert await _dry_run(operator, by_group) == {alerts["till-1"]}
    assert await _dry_run(operator, both) == {alerts["kiosk-1"], alerts["till-1"]}
    assert await _dry_run(operator, nothing) == set()

    # A group is matched as it is now: tag web-1 pos and the group (and its rule) takes its alert too.
    async with db.transaction() as session:
        web = await session.get(Alert, alerts["web-1"])
        assert web is not None and web.device_id is not None
        session.add(DeviceTag(device_id=web.device_id, tag="pos"))
    assert await _dry_run(operator, by_group) == {alerts["till-1"], alerts["web-1"]}

    # The engine uses the same matching: each rule acts on exactly the alerts its dry run named (it
    # takes alerts first seen since the rule was made, so these are raised again now).
    async with db.transaction() as session:
        await session.execute(update(Alert).values(first_seen_at=utcnow()))
    engine = hub.components.get(RuleEngine)
    await engine.tick()
    async with db.transaction() as session:
        acted = (await session.execute(select(AlertRuleRun.rule_id, AlertRuleRun.alert_id))).all()
    assert {(r, a) for r, a in acted} == {
        (by_tag, alerts["kiosk-1"]),
        (by_group, alerts["till-1"]),
        (by_group, alerts["web-1"]),
        (both, alerts["kiosk-1"]),
        (both, alerts["till-1"]),
        (both, alerts["web-1"]),
    }


async def test_a_rule_naming_an_unknown_group_or_a_bad_tag_is_refused(
    hub: HubContext, tenancy: Tenancy, client_for: Clients
) -> None:
    admin = client_for(tenancy.admin)
    await _json(
        await admin.put("/api/v1/policies/native_rmm:rmm-create-alert-rule", json={"mode": "auto", "note": "test"})
    )
    body = {"name": "ghost", "match": {"group_ids": [4242]}, "actions": [{"kind": "ticket"}]}
    resp = await admin.post("/api/v1/rmm/alert-rules", json=body)
    assert resp.status_code == 404, resp.text
    assert "no device group #4242" in resp.text
    bad = {"name": "bad", "match": {"tags": ["not a tag!"]}, "actions": [{"kind": "ticket"}]}
    resp = await admin.post("/api/v1/rmm/alert-rules", json=bad)
    assert resp.status_code == 422, resp.text
    assert "tags" in resp.text


def test_matches_needs_any_tag_and_any_group() -> None:
    alert = Alert(severity=AlertSeverity.WARNING, source=AlertSource.METRIC, metric=MetricName.DISK)
    placed = Placement(site_id=3, customer_id=2, tags=frozenset({"finance", "laptop"}), groups=frozenset({7}))
    assert matches(RuleMatch(tags=["laptop", "server"]), alert, placed)
    assert not matches(RuleMatch(tags=["server"]), alert, placed)
    assert matches(RuleMatch(group_ids=[7, 8]), alert, placed)
    assert not matches(RuleMatch(group_ids=[8]), alert, placed)
    assert matches(RuleMatch(tags=["finance"], group_ids=[7], customer_ids=[2], site_ids=[3]), alert, placed)
    assert not matches(RuleMatch(tags=["finance"], customer_ids=[9]), alert, placed)
    assert not matches(RuleMatch(tags=["finance"]), alert, Placement(None, None))  # a monitor alert has no tags
