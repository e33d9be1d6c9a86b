"""Admin -> Notifications in a real headless Chromium: create a webhook channel (secret shown once),
press Test against a real signed-webhook receiver, and see the delivery log. Screenshots go to
``tests/artifacts/automation/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import LiveServer, Tenancy
from tests.csp import watch_csp
from tests.hub.notify.conftest import Receiver, webhook_receiver  # noqa: F401 (fixture)
from tests.ui.rmm.test_rmm_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "automation"


@pytest.fixture(scope="module")
def shots(artifacts: Path) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, live_server: LiveServer) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(10_000)
    csp = await watch_csp(context)
    tab = await context.new_page()
    yield tab
    await context.close()
    csp.check()


async def test_admin_creates_and_tests_a_webhook_channel(
    page: Page,
    tenancy: Tenancy,
    shots: Path,
    webhook_receiver: Receiver,  # noqa: F811
) -> None:
    await sign_in(page, tenancy.admin, target="/admin/notifications")
    await page.get_by_label("Name").fill("ops hook")
    await page.get_by_label("Kind").select_option("webhook")
    await page.get_by_label("Webhook URL").fill(webhook_receiver.url)
    await page.get_by_role("button", name="Create channel").click()
    secret = page.get_by_test_id("signing-secret")
    await expect(secret).to_contain_text("shown once")
    webhook_receiver.secret = (await secret.locator("code").first.inner_text()).strip()
    await page.get_by_role("button", name="Test ops hook").click()
    await expect(page.get_by_role("status").first).to_contain_text("Test message delivered")
    await expect(page.locator("tr[data-delivery-status='delivered']")).to_have_count(1)
    assert webhook_receiver.bad_signatures == 0 and len(webhook_receiver.received) == 1
    # The secret is not on the page any more.
    await page.goto("/admin/notifications")
    assert webhook_receiver.secret not in await page.content()
    await page.screenshot(path=shots / "admin-notifications.png", full_page=True)
