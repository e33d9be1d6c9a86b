"""An alert rule's ConnectWise ticket action against the fake tenant (the documented contract, in-process):
the rule engine opens a ConnectWise ticket through the gate (``cw-rmm-create-ticket``, caller automation)
when the device's customer is mapped to a ConnectWise company and the connector is present; an unmapped
customer, or no connector, is a recorded skip and nothing is sent."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from cw_tenant import FakeTenant
from cw_world import CWWorld, connect_org
from sqlalchemy import select

from connectors.connectwise_rmm.manager import ConnectionManager
from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from hub.core.models import Customer, Site
from native_rmm.automation.engine import RuleEngine
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus, MetricName
from native_rmm.models.automation import AlertRuleRun
from native_rmm.models.devices import Device
from tests.conftest import Tenancy, TestUser
from tests.native_rmm.conftest import make_device

Clients = Callable[[TestUser], httpx.AsyncClient]
COMPANY = "c0ffee00-0000-4000-8000-000000000001"
TICKETS = "/api/platform/v2/service/ticketing/tickets"


async def _customer_device(db: Database, org_id: int, name: str, hostname: str) -> tuple[int, int]:
    """A device moved into a new customer ``name``; returns (customer id, device id)."""
    device_id = await make_device(db, org_id, hostname=hostname)
    async with db.transaction() as session:
        customer = Customer(org_id=org_id, name=name)
        session.add(customer)
        await session.flush()
        site = Site(customer_id=customer.id, name="Main office")
        session.add(site)
        await session.flush()
        device = await session.get(Device, device_id)
        assert device is not None
        device.site_id = site.id
        return customer.id, device_id


async def _alert(db: Database, org_id: int, device_id: int, message: str) -> int:
    async with db.transaction() as session:
        alert = Alert(
            org_id=org_id,
            device_id=device_id,
            source=AlertSource.METRIC,
            metric=MetricName.CPU,
            severity=AlertSeverity.CRITICAL,
            status=AlertStatus.OPEN,
            message=message,
            first_seen_at=utcnow(),
            last_seen_at=utcnow(),
        )
        session.add(alert)
        await session.flush()
        return alert.id


async def _rule(admin: httpx.AsyncClient, mapped_customer: int) -> int:
    body = {
        "name": "cpu to connectwise",
        "match": {"severities": ["critical"]},
        "actions": [
            {
                "kind": "connectwise_ticket",
                "service_board_id": "board-7",
                "source_id": "source-3",
                "companies": {str(mapped_customer): COMPANY},
            }
        ],
    }
    r = await admin.post("/api/v1/tools/rmm-create-alert-rule/invoke", json={"args": body, "reason": "test"})
    assert r.status_code == 200, r.text
    rule_id: int = r.json()["result"]["id"]
    return rule_id


async def _runs(db: Database, rule_id: int) -> dict[int, AlertRuleRun]:
    async with db.transaction() as session:
        rows = (await session.scalars(select(AlertRuleRun).where(AlertRuleRun.rule_id == rule_id))).all()
        return {r.alert_id: r for r in rows}


async def _set_auto(admin: httpx.AsyncClient, tool: str) -> None:
    r = await admin.put(f"/api/v1/policies/{tool}", json={"mode": "auto", "note": "cw rule test"})
    assert r.status_code == 200, r.text


async def test_rule_opens_a_connectwise_ticket_for_a_mapped_customer_only(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext, db: Database
) -> None:
    admin = client_for(tenancy.admin)
    assert (await connect_org(admin, tenant)).status_code in (200, 201)
    await _set_auto(admin, "native_rmm:rmm-create-alert-rule")
    await _set_auto(admin, "connectwise_rmm:cw-rmm-create-ticket")
    mapped, mapped_device = await _customer_device(db, tenancy.org_id, "Contoso", "contoso-web")
    _, other_device = await _customer_device(db, tenancy.org_id, "Fabrikam", "fabrikam-db")
    rule_id = await _rule(admin, mapped)
    hit = await _alert(db, tenancy.org_id, mapped_device, "CPU 97% on contoso-web")
    miss = await _alert(db, tenancy.org_id, other_device, "CPU 99% on fabrikam-db")

    engine = hub.components.get(RuleEngine)
    assert await engine.tick() == 2

    posted = tenant.calls("POST", TICKETS)
    assert len(posted) == 1, "only the mapped customer's alert opens a ConnectWise ticket"
    assert posted[0].body == {
        "summary": "[critical] CPU 97% on contoso-web",
        "description": posted[0].body["description"],
        "serviceBoard": {"id": "board-7"},
        "source": {"id": "source-3"},
        "company": {"id": COMPANY},
    }
    description = posted[0].body["description"]
    assert description.startswith("CPU 97% on contoso-web\n\nAlert #") and "(metric, critical)" in description
    assert len(posted[0].body["summary"]) <= 255 and len(description) <= 10000  # the documented limits
    assert tenant.tickets[0]["company"] == {"id": COMPANY}

    runs = await _runs(db, rule_id)
    assert (runs[hit].action, runs[hit].tool_id, runs[hit].status) == (
        "connectwise_ticket",
        "connectwise_rmm:cw-rmm-create-ticket",
        "done",
    )
    assert (runs[miss].status, runs[miss].message) == (
        "skipped",
        "the device's customer is not mapped to a ConnectWise company",
    )
    assert await engine.tick() == 0, "an alert is acted on once per rule"
    assert len(tenant.calls("POST", TICKETS)) == 1


async def test_rule_without_the_connector_skips_and_sends_nothing(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext, db: Database
) -> None:
    admin = client_for(tenancy.admin)
    assert (await connect_org(admin, tenant)).status_code in (200, 201)
    await _set_auto(admin, "native_rmm:rmm-create-alert-rule")
    mapped, device_id = await _customer_device(db, tenancy.org_id, "Contoso", "contoso-web")
    rule_id = await _rule(admin, mapped)
    r = await admin.delete("/api/v1/integrations/connectwise-rmm")
    assert r.status_code in (200, 204), r.text
    alert_id = await _alert(db, tenancy.org_id, device_id, "CPU 97% on contoso-web")

    assert await hub.components.get(RuleEngine).tick() == 1
    run = (await _runs(db, rule_id))[alert_id]
    assert run.status == "skipped" and "cw-rmm-create-ticket" in run.message
    assert tenant.calls("POST", TICKETS) == []
    assert hub.components.get(ConnectionManager) is not None
