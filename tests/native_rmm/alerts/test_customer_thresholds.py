"""Per-customer thresholds override the organisation's set for that customer's devices only."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import update

from hub.core.db import Database
from hub.core.tenancy import create_customer, create_site
from native_rmm.models.alerts import AlertSeverity, MetricName
from native_rmm.models.devices import Device
from tests.conftest import Tenancy, TestUser
from tests.native_rmm.alerts.test_alert_rules import alerts_of, evaluate, sample
from tests.native_rmm.conftest import make_device


async def test_a_customers_set_overrides_the_orgs_for_its_devices(
    db: Database, tenancy: Tenancy, client_for: Callable[[TestUser], httpx.AsyncClient]
) -> None:
    async with db.transaction() as session:
        strict = await create_customer(session, org_id=tenancy.org_id, name="Strict Ltd")
        site = await create_site(session, org_id=tenancy.org_id, customer_id=strict.id, name="HQ")
    strict_device = await make_device(db, tenancy.org_id, hostname="strict-01")
    plain_device = await make_device(db, tenancy.org_id, hostname="plain-01")
    async with db.transaction() as session:
        await session.execute(update(Device).where(Device.id == strict_device).values(site_id=site.id))
    admin = client_for(tenancy.admin)
    resp = await admin.put(
        f"/api/v1/rmm/thresholds/customers/{strict.id}", json={"memory_warn": 40, "memory_danger": 60}
    )
    assert resp.status_code == 200 and resp.json()["memory_warn"] == 40, resp.text
    refused = await client_for(tenancy.operator).put(f"/api/v1/rmm/thresholds/customers/{strict.id}", json={})
    assert refused.status_code == 403
    missing = await admin.put("/api/v1/rmm/thresholds/customers/9999", json={})
    assert missing.status_code == 404

    for device in (strict_device, plain_device):
        await evaluate(db, tenancy.org_id, device, sample(memory=65))
    (strict_alert,) = await alerts_of(db, strict_device)
    assert strict_alert.metric is MetricName.MEMORY and strict_alert.severity is AlertSeverity.CRITICAL
    assert await alerts_of(db, plain_device) == []  # 65 % is below the organisation's 85 % warn

    assert (await admin.delete(f"/api/v1/rmm/thresholds/customers/{strict.id}")).status_code == 204
    await evaluate(db, tenancy.org_id, strict_device, sample(memory=65))
    (after,) = await alerts_of(db, strict_device)
    assert after.status.value == "resolved" and after.auto_resolved  # back on the org's set: 65 % is fine
