"""Admin -> Customers -> Status page and the public page, in a real headless Chromium: an admin
publishes two entries under public names, the URL opens without a login and shows only them and their
incidents, and after "Rotate URL" the old URL is a bare 404."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from hub.core.db import Database
from native_rmm.status_pages import tokens
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import LiveServer, Tenancy
from tests.csp import watch_csp
from tests.native_rmm.status_pages.seed import seed
from tests.ui.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "status_pages"


def _path(url: str) -> str:
    return url[url.index(tokens.PATH) :]


async def test_admin_publishes_a_status_page_and_the_public_sees_only_it(
    page: Page, browser: Browser, live_server: LiveServer, tenancy: Tenancy, db: Database, shots: Path
) -> None:
    s = await seed(db, tenancy.org_id)
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {tenancy.admin.token}"}
    ) as api:
        for tool in ("native_rmm:rmm-update-status-page", "native_rmm:rmm-rotate-status-page-url"):
            resp = await api.put(f"/api/v1/policies/{tool}", json={"mode": "auto", "note": "test"})
            assert resp.status_code == 200, resp.text

    await sign_in(page, tenancy.admin, target="/admin/rmm/customers")
    await page.get_by_role("link", name="Status page of Contoso Internal Ltd").click()
    await expect(page.get_by_test_id("status-page-state")).to_contain_text("Not set up")
    await page.get_by_label("Published").check()
    await page.get_by_label("Show monitor crm-internal-probe").check()
    await page.get_by_label("Public name of monitor crm-internal-probe").fill("Customer portal")
    await page.get_by_label("Show device fin-ws-secret-01").check()
    await page.get_by_label("Public name of device fin-ws-secret-01").fill("Front desk PC")
    await page.get_by_role("button", name="Save status page").click()
    await expect(page.locator('[data-outcome="done"]')).to_contain_text("Save status page: done")
    url = await page.get_by_test_id("status-url").input_value()
    await expect(page.get_by_test_id("status-page-state")).to_contain_text("Published")
    await expect(page.get_by_label("Public name of device fin-ws-secret-01")).to_have_value("Front desk PC")
    await page.screenshot(path=shots / "status-page-admin.png", full_page=True)

    public = await browser.new_context(base_url=live_server.url, viewport={"width": 900, "height": 800})
    try:
        csp = await watch_csp(public)
        visitor = await public.new_page()
        answer = await visitor.goto(_path(url))
        assert answer is not None and answer.status == 200
        assert answer.headers["x-robots-tag"] == "noindex, nofollow, noarchive"
        assert answer.headers["referrer-policy"] == "no-referrer"
        await expect(visitor.get_by_role("heading", name="Service status")).to_be_visible()
        await expect(visitor.get_by_test_id("overall")).to_contain_text("Some systems are down")
        items = visitor.get_by_test_id("status-item")
        await expect(items).to_have_count(2)
        await expect(items.filter(has_text="Customer portal")).to_have_attribute("data-state", "down")
        await expect(items.filter(has_text="Front desk PC")).to_have_attribute("data-state", "up")
        incidents = visitor.get_by_test_id("incident")
        await expect(incidents).to_have_count(2)
        await expect(incidents.filter(has_text="Customer portal")).to_contain_text("Ongoing")
        await expect(incidents.filter(has_text="Front desk PC")).to_contain_text("High CPU load")
        text = await visitor.content()
        for secret in s.secrets:
            assert secret not in text, secret
        assert await public.cookies() == []
        await visitor.screenshot(path=shots / "status-page-public.png", full_page=True)
        csp.check()

        # Rotate: the new URL works, the old one is a bare 404 (as is any made-up one).
        await page.get_by_role("button", name="Rotate URL").click()
        await expect(page.locator('[data-outcome="done"]')).to_contain_text("Rotate status page URL: done")
        rotated = await page.get_by_test_id("status-url").input_value()
        assert rotated != url
        old = await visitor.goto(_path(url))
        assert old is not None and old.status == 404
        old_body = await old.text()
        await expect(visitor.get_by_role("heading", name="Not found")).to_be_visible()
        made_up = await visitor.goto(tokens.PATH + tokens.mint()[0])
        assert made_up is not None and made_up.status == 404 and await made_up.text() == old_body
        fresh = await visitor.goto(_path(rotated))
        assert fresh is not None and fresh.status == 200
    finally:
        await public.close()
