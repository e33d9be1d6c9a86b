"""Admin → Remote access in real headless Chromium against a live hub: privacy mode set for a
customer and overridden for one device through ``rmm-set-remote-consent``, with the idle timeout
in force shown. Screenshots go to ``tests/artifacts/remote/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from hub.core.db import Database
from native_rmm.devices.queries import customer_overview
from native_rmm.models.devices import Device
from native_rmm.remote.service import consent_required
from native_rmm.testing.agentsim import SimAgent
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import LiveServer, Tenancy, base_token
from tests.csp import watch_csp
from tests.ui.conftest import sign_in, ui_login
from tests.ui.rmm.conftest import enroll_and_checkin

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "remote"


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, live_server: LiveServer, artifacts: Path) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    csp = await watch_csp(context)
    tab = await context.new_page()
    yield tab
    await context.close()
    csp.check()


async def _consent(db: Database, device_id: int) -> bool:
    async with db.sessionmaker() as session:
        device = await session.get(Device, device_id)
        assert device is not None
        return await consent_required(session, org_id=device.org_id, device=device)


async def test_admin_sets_privacy_mode_for_a_customer_and_a_device(
    page: Page, live_server: LiveServer, db: Database, tenancy: Tenancy
) -> None:
    agent = SimAgent(live_server.url, hostname="PRIV-01")
    try:
        enrolled = await enroll_and_checkin(agent, await base_token(db, tenancy.org_id), history_minutes=1, apps=False)
    finally:
        await agent.aclose()
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {tenancy.admin.token}"}
    ) as api:
        put = await api.put("/api/v1/policies/rmm-set-remote-consent", json={"mode": "auto", "note": "browser test"})
        assert put.status_code == 200, put.text
    async with db.sessionmaker() as session:
        customer = next(c for c in await customer_overview(session, org_id=tenancy.org_id) if c.device_count)
    assert await _consent(db, enrolled.device_id) is False

    await sign_in(page, tenancy.admin, target="/admin/rmm/remote-access")
    await expect(page.locator("#consent-none")).to_be_visible()
    await expect(page.get_by_test_id("idle-minutes")).to_have_text("30 minutes without input")
    await expect(page.get_by_test_id("idle-warnings")).to_have_text("1200 s, 600 s, 60 s before")
    customer_form = page.locator("#consent-customer")
    await customer_form.get_by_label("Customer", exact=True).select_option(str(customer.id))
    await customer_form.get_by_label("End user", exact=True).select_option("required")
    await customer_form.get_by_role("button", name="Save privacy mode for the customer").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Privacy mode for customer #{customer.id}")
    rule = page.locator(f'#consent-rules tr[data-scope="customer"][data-scope-id="{customer.id}"]')
    await expect(rule).to_have_attribute("data-required", "true")
    await expect(rule).to_contain_text(customer.name)
    assert await _consent(db, enrolled.device_id) is True  # the device inherits its customer's rule

    device_form = page.locator("#consent-device")
    await device_form.get_by_label("Device", exact=True).select_option(str(enrolled.device_id))
    await device_form.get_by_label("End user", exact=True).select_option("off")
    await device_form.get_by_role("button", name="Save privacy mode for the device").click()
    device_rule = page.locator(f'#consent-rules tr[data-scope="device"][data-scope-id="{enrolled.device_id}"]')
    await expect(device_rule).to_have_attribute("data-required", "false")
    await expect(device_rule).to_contain_text("PRIV-01")
    assert await _consent(db, enrolled.device_id) is False  # the device's own rule wins
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SHOTS / "admin-remote-access.png", full_page=True)

    await device_rule.get_by_role("button", name="Clear the rule for device PRIV-01").click()
    await expect(device_rule).to_have_count(0)
    assert await _consent(db, enrolled.device_id) is True


async def test_bad_input_and_non_admins_get_clear_refusals(live_server: LiveServer, tenancy: Tenancy) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        client.headers["X-CSRF-Token"] = await ui_login(client, tenancy.admin.username, tenancy.admin.password)
        bad = await client.post(
            "/admin/rmm/remote-access/consent", data={"scope": "planet", "scope_id": "1", "required": "required"}
        )
        assert bad.status_code == 422 and "scope" in bad.text and "Traceback" not in bad.text
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        client.headers["X-CSRF-Token"] = await ui_login(client, tenancy.operator.username, tenancy.operator.password)
        assert (await client.get("/admin/rmm/remote-access")).status_code == 403
