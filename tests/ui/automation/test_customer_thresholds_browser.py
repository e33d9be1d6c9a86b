"""Admin -> Customers -> Thresholds in a real headless Chromium: a customer's own set is refused when
warn is not below danger (what was typed stays), saved through the audited service (it then judges
the customer's devices), listed on the organisation's page, and dropped again."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from hub.core import tenancy as tenancy_service
from hub.core.audit import AuditEntry
from hub.core.db import Database
from hub.core.models import Site
from native_rmm.alerts.customer_thresholds import thresholds_for_device
from native_rmm.models.devices import Device
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import Tenancy
from tests.native_rmm.conftest import make_device
from tests.ui.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "automation"


async def _judging(db: Database, org_id: int, device_id: int) -> tuple[float, float, bool]:
    async with db.transaction() as session:
        t = await thresholds_for_device(session, org_id=org_id, device_id=device_id)
        return t.cpu_warn, t.cpu_danger, t.is_default


async def test_customer_thresholds_form(page: Page, tenancy: Tenancy, db: Database, shots: Path) -> None:
    device_id = await make_device(db, tenancy.org_id, hostname="till-01")
    async with db.transaction() as session:
        customer = await tenancy_service.create_customer(session, org_id=tenancy.org_id, name="Fabrikam")
        device = await session.get(Device, device_id)
        assert device is not None
        device.site_id = await session.scalar(select(Site.id).where(Site.customer_id == customer.id))
    assert await _judging(db, tenancy.org_id, device_id) == (80.0, 90.0, True)

    await sign_in(page, tenancy.admin, target="/admin/rmm/customers")
    await page.get_by_role("link", name="Thresholds of Fabrikam").click()
    card = page.get_by_role("region", name="Thresholds of Fabrikam")
    await expect(card.get_by_test_id("threshold-origin")).to_contain_text("Follows the organisation's set")
    await expect(card.get_by_label("CPU warn %")).to_have_value("80.0")

    await card.get_by_label("CPU warn %").fill("95")
    await card.get_by_label("CPU danger %").fill("90")
    await card.get_by_role("button", name="Save for Fabrikam").click()
    errors = page.get_by_test_id("threshold-errors")
    await expect(errors).to_contain_text("the warn threshold (95%) must be below the danger threshold (90%)")
    await expect(page.get_by_role("region", name="Thresholds of Fabrikam").get_by_label("CPU warn %")).to_have_value(
        "95"
    )
    assert await _judging(db, tenancy.org_id, device_id) == (80.0, 90.0, True)  # nothing saved

    card = page.get_by_role("region", name="Thresholds of Fabrikam")
    await card.get_by_label("CPU warn %").fill("60")
    await card.get_by_label("CPU danger %").fill("70")
    await card.get_by_role("button", name="Save for Fabrikam").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved; they judge this customer's next samples.")
    card = page.get_by_role("region", name="Thresholds of Fabrikam")
    await expect(card.get_by_test_id("threshold-origin")).to_contain_text("Its own set, saved")
    await expect(card.get_by_label("CPU warn %")).to_have_value("60.0")
    await page.screenshot(path=shots / "customer-thresholds.png", full_page=True)
    assert await _judging(db, tenancy.org_id, device_id) == (60.0, 70.0, False)
    async with db.transaction() as session:
        outcomes = (await session.scalars(select(AuditEntry.outcome))).all()
    assert "rmm.thresholds.customer_updated" in outcomes

    await page.get_by_role("link", name="Organisation thresholds").click()
    overrides = page.get_by_role("table", name="Customers with their own thresholds")
    await expect(overrides.locator("tr[data-customer='Fabrikam']")).to_contain_text("60.0 / 70.0")

    await overrides.get_by_role("link", name="Fabrikam").click()
    await page.get_by_role("button", name="Use the organisation's thresholds").click()
    await expect(page.get_by_role("status")).to_contain_text("follows the organisation's thresholds again")
    await expect(page.get_by_test_id("threshold-origin")).to_contain_text("Follows the organisation's set")
    assert await _judging(db, tenancy.org_id, device_id) == (80.0, 90.0, True)
