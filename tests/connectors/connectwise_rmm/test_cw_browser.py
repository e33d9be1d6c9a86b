"""The ConnectWise RMM pages in a real headless Chromium against a live hub and a loopback fake tenant."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cw_tenant import FakeTenant, LoopbackServer
from playwright.async_api import Page, async_playwright, expect

from connectors.connectwise_rmm.manager import ConnectionManager
from connectors.connectwise_rmm.settings import ConnectWiseSettings
from tests.conftest import ARTIFACTS, LiveServer, Tenancy, free_port
from tests.csp import watch_csp

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (make system-deps)"),
]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = ARTIFACTS / "connectwise"


async def _sign_in(page: Page, username: str, password: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)


async def test_connect_form_tool_list_and_policy_change(
    live_server: LiveServer, tenancy: Tenancy, tenant: FakeTenant
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with LoopbackServer(tenant, free_port()) as fake:
        manager: ConnectionManager = live_server.app.state.hub.components.get(ConnectionManager)
        manager.settings = ConnectWiseSettings(base_url=fake.url, script_wait_seconds=5, poll_interval_seconds=0.2)

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = await browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
            context.set_default_timeout(15_000)
            csp = await watch_csp(context)
            page = await context.new_page()
            try:
                await _sign_in(page, tenancy.admin.username, tenancy.admin.password)
                await page.goto("/integrations")
                card = page.get_by_role("article", name="ConnectWise RMM")
                await expect(card).to_contain_text("Not connected")
                # The card's link depends on ui.page.route_exists, which does not see included routers on
                # FastAPI 0.165 (reported); open the page directly.
                await page.goto("/integrations/connectwise-rmm")

                await page.get_by_label("Client ID").fill(tenant.client_id)
                await page.get_by_label("Client Secret (API key)").fill("not-the-key")
                await page.get_by_label("Region").select_option("au")
                await page.get_by_role("button", name="Save").click()
                await expect(page.get_by_role("alert")).to_contain_text("Client authentication failed")
                await expect(page.get_by_label("Client Secret (API key)")).to_have_value("")
                await page.screenshot(path=SHOTS / "connect-failed.png", full_page=True)

                await page.get_by_label("Client Secret (API key)").fill(tenant.client_secret)
                await page.get_by_role("button", name="Save").click()
                await page.wait_for_url("**/integrations/connectwise-rmm?done=connected")
                await expect(page.locator("#cw-status")).to_have_text("Connected")
                await expect(page.locator("#cw-tool-counts")).to_have_text("18 static, 2 scripts")
                assert tenant.client_secret not in await page.content()

                script_row = page.locator('tr[data-tool="connectwise_rmm:cw-rmm-script-disk-cleanup"]')
                await expect(script_row).to_have_attribute("data-mode", "approval")
                await expect(script_row).to_contain_text("runs a script on endpoints")
                selectors = page.get_by_role("combobox", name="Mode for connectwise_rmm:")
                assert await selectors.count() == 20
                await page.screenshot(path=SHOTS / "connected-tools.png", full_page=True)

                async with page.expect_response("**/policies/tools/mode") as changed:
                    await page.get_by_label("Mode for connectwise_rmm:cw-rmm-script-disk-cleanup").select_option(
                        "never"
                    )
                assert (await changed.value).status == 200
                await expect(script_row).to_have_attribute("data-mode", "never")
                await expect(script_row).to_contain_text("set by alice")
                await page.screenshot(path=SHOTS / "policy-changed.png", full_page=True)

                await page.get_by_role("button", name="Rediscover scripts").click()
                await expect(page.get_by_role("status").first).to_contain_text("Rediscovered 2 active scripts")

                await page.goto("/integrations")
                await expect(page.get_by_role("article", name="ConnectWise RMM")).to_contain_text("Connected")
                await page.screenshot(path=SHOTS / "integrations-card.png", full_page=True)
            finally:
                await context.close()
                await browser.close()
            csp.check()

    headers = {"Authorization": f"Bearer {tenancy.viewer.token}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as api:
        policies = {p["tool"]: p for p in (await api.get("/api/v1/policies")).json()}
    changed_policy = policies["connectwise_rmm:cw-rmm-script-disk-cleanup"]
    assert (changed_policy["mode"], changed_policy["origin"]) == ("never", "admin")
    assert policies["connectwise_rmm:cw-rmm-list-devices"]["mode"] == "auto"
