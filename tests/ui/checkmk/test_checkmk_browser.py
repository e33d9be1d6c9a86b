"""Admin -> Checkmk in a real headless Chromium against the loopback contract site: bad input (422, the
field named), connect, hosts with state and mapped device, map by hand, the device page's Checkmk panel,
and a revoked secret that shows Checkmk's 401 while the hosts stay. Screenshots go to
``tests/artifacts/checkmk/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from hub.core.db import Database
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import Tenancy
from tests.connectors.checkmk.cmk_site import CheckmkSite, FakeHost, FakeService
from tests.connectors.checkmk.conftest import cmk_site  # noqa: F401 (fixture)
from tests.native_rmm.conftest import make_device
from tests.ui.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "checkmk"


async def test_admin_connects_checkmk_maps_a_host_and_sees_the_device_panel(
    page: Page,
    tenancy: Tenancy,
    db: Database,
    cmk_site: CheckmkSite,  # noqa: F811
    shots: Path,
) -> None:
    web = await make_device(db, tenancy.org_id, hostname="web01")
    mail = await make_device(db, tenancy.org_id, hostname="mail01")
    cmk_site.add(FakeHost("web01", state=1, output="CRIT - Host unreachable", services=[FakeService("CPU")]))
    cmk_site.add(FakeHost("app01", services=[FakeService("CPU"), FakeService("Disk /", 1, "WARN - 85% used")]))
    cmk_site.add(FakeHost("mail01", services=[FakeService("SMTP"), FakeService("IMAP")]))

    await sign_in(page, tenancy.admin, target="/admin/checkmk")
    await expect(page.get_by_test_id("checkmk-connection")).to_have_attribute("data-status", "not_connected")

    # Bad input: the field is named, nothing is stored, the secret is not echoed back.
    await page.get_by_label("Server URL").fill("ftp://monitor")
    await page.get_by_label("Site name").fill(cmk_site.site)
    await page.get_by_label("Automation user").fill(cmk_site.username)
    await page.get_by_label("Automation secret").fill(cmk_site.secret)
    response_codes: list[int] = []
    page.on("response", lambda r: response_codes.append(r.status) if r.url.endswith("/admin/checkmk") else None)
    await page.get_by_role("button", name="Connect").click()
    await expect(page.get_by_test_id("checkmk-errors")).to_contain_text("url")
    assert 422 in response_codes
    assert cmk_site.secret not in await page.content()

    # Connect for real: the first sync runs; hosts worst first, mapped by hostname.
    await page.get_by_label("Server URL").fill(cmk_site.url)
    await page.get_by_label("Automation secret").fill(cmk_site.secret)
    await page.get_by_role("button", name="Connect").click()
    await expect(page.get_by_role("status").first).to_contain_text("Connected to Checkmk site 'mysite'")
    await expect(page.get_by_test_id("checkmk-connection")).to_have_attribute("data-status", "connected")
    rows = page.locator("tr[data-host]")
    await expect(rows).to_have_count(3)
    await expect(rows.nth(0)).to_have_attribute("data-host", "web01")
    await expect(page.locator("tr[data-host='web01']")).to_have_attribute("data-device-id", str(web))
    await expect(page.locator("tr[data-host='app01']")).to_have_attribute("data-device-id", "")

    # Map app01 by hand to mail01's device (checkmk-map-host through the gate).
    await page.get_by_label("Device for app01").select_option(str(mail))
    await page.get_by_role("button", name="Map app01").click()
    await expect(page.get_by_role("status").first).to_contain_text("app01 is mapped to mail01")
    await expect(page.locator("tr[data-host='app01']")).to_have_attribute("data-map-mode", "manual")
    await page.screenshot(path=shots / "admin-checkmk.png", full_page=True)

    # The device page shows the host's state and service counts.
    await page.goto(f"/rmm/devices/{web}")
    panel = page.get_by_test_id("checkmk-panel")
    await expect(panel).to_have_attribute("data-health", "critical")
    await expect(panel).to_have_attribute("data-state", "down")
    await expect(panel.locator("[data-count='ok']")).to_have_text("1")
    await page.screenshot(path=shots / "device-checkmk-panel.png", full_page=True)

    # The secret is revoked in Checkmk: Sync now says 401 plainly, and the hosts stay.
    cmk_site.secret = "rotated"
    await page.goto("/admin/checkmk")
    await page.get_by_role("button", name="Sync now").click()
    await expect(page.get_by_test_id("checkmk-errors")).to_contain_text("401")
    await expect(page.get_by_test_id("checkmk-errors")).to_contain_text("automation user and its secret")
    await expect(page.get_by_test_id("checkmk-connection")).to_have_attribute("data-status", "error")
    await expect(page.locator("tr[data-host]")).to_have_count(3)
    await page.screenshot(path=shots / "admin-checkmk-401.png", full_page=True)
    # The Integrations page's Checkmk card says the same.
    await page.goto("/integrations")
    await expect(page.get_by_text("Error: host sync failed")).to_be_visible()
