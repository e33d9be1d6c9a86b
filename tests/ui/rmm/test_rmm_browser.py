"""The RMM pages in a real headless Chromium against a live hub on loopback, with devices that enrolled
and checked in over HTTP as a (simulated) agent would. Screenshots go to ``tests/artifacts/rmm/``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from hub.core.db import Database
from native_rmm.testing.agentsim import SimAgent, ok_result
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import LiveServer, Tenancy, base_token
from tests.ui.conftest import csp_page, sign_in
from tests.ui.rmm.conftest import Enrolled, enroll_and_checkin
from tests.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "rmm"


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, live_server: LiveServer) -> AsyncIterator[Page]:
    """A fresh browser context (own cookies, clipboard allowed) and page per test."""
    async with csp_page(browser, live_server.url, permissions=("clipboard-read", "clipboard-write")) as tab:
        yield tab


@pytest_asyncio.fixture(loop_scope="module")
async def fleet(live_server: LiveServer, db: Database, tenancy: Tenancy) -> AsyncIterator[dict[str, Enrolled]]:
    """Two devices enrolled over real HTTP: a quiet web server and a database server at 97 % CPU."""
    token = await base_token(db, tenancy.org_id)
    agents = [SimAgent(live_server.url, hostname=name) for name in ("LON-WEB-01", "LON-DB-01")]
    try:
        web = await enroll_and_checkin(agents[0], token, history_minutes=40)
        hot = await enroll_and_checkin(agents[1], token, cpu=97.0, history_minutes=5)
        yield {"web": web, "hot": hot}
    finally:
        for agent in agents:
            await agent.aclose()


async def wait_for_samples(page: Page, device_id: int, at_least: int) -> None:
    """The batched writer stores samples within a second; wait until the metrics endpoint has them."""

    async def enough() -> bool:
        metrics = await (await page.request.get(f"/rmm/devices/{device_id}/metrics")).json()
        return len(metrics["series"]["t"]) >= at_least

    await eventually(enough, within=10, every=0.2, message=f"{at_least} samples of device {device_id}")


async def test_devices_tab_and_device_detail_with_sparklines(
    page: Page, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path
) -> None:
    web = fleet["web"]
    await sign_in(page, tenancy.operator, target="/rmm")
    table = page.get_by_role("table", name="Devices")
    await expect(table.locator("tbody tr")).to_have_count(2)
    row = table.locator(f'tr[data-device-id="{web.device_id}"]')
    await expect(row).to_contain_text("LON-WEB-01")
    await expect(row).to_contain_text("ONLINE")
    await expect(row).to_contain_text("10.0.0.17")
    await page.get_by_label("Search", exact=True).fill("db-01")
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(table).to_contain_text("LON-DB-01")
    await page.get_by_label("Search", exact=True).fill("")
    await expect(table.locator("tbody tr")).to_have_count(2)
    await page.screenshot(path=shots / "rmm-devices.png", full_page=True)

    await wait_for_samples(page, web.device_id, 40)
    await row.get_by_role("link", name="LON-WEB-01").click()
    await page.wait_for_url(f"**/rmm/devices/{web.device_id}")
    await expect(page.get_by_role("heading", name=re.compile("LON-WEB-01"))).to_be_visible()
    await expect(page.locator("#remote-btn")).to_be_enabled()
    for key in ("cpu", "memory", "disk", "load", "network"):
        spark = page.locator(f"#spark-{key}")
        await expect(spark.locator("canvas")).to_have_count(1)
        await expect(spark).to_have_attribute("data-points", re.compile(r"^(4[0-9]|[5-9][0-9])$"))
    await expect(page.locator("#gauges")).to_have_attribute("data-samples", re.compile(r"^\d{2,}$"))
    painted = await page.locator("#spark-cpu canvas").evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert painted > 100, "the CPU sparkline drew nothing"
    await expect(page.get_by_test_id("gauge-cpu")).to_have_text("13%")
    await expect(page.get_by_test_id("gauge-network")).to_have_text("117.2 KB/s in")  # 120,000 B/s received
    await expect(page.get_by_test_id("network-out")).to_have_text("34.2 KB/s out")
    await page.get_by_role("button", name="Remote Connection").click()
    await expect(page.locator("#remote-panel")).to_contain_text("Open shell session")
    await page.screenshot(path=shots / "rmm-device-system.png", full_page=True)


async def test_applications_search(page: Page, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path) -> None:
    web = fleet["web"]
    await sign_in(page, tenancy.viewer, target=f"/rmm/devices/{web.device_id}")
    await page.get_by_role("link", name="Applications").click()
    apps = page.get_by_role("table", name="Installed applications")
    await expect(apps.locator("tbody tr")).to_have_count(4)
    await page.get_by_label("Search", exact=True).fill("debian")
    await expect(apps.locator("tbody tr")).to_have_count(2)
    await expect(apps).to_contain_text("OpenSSH server")
    await expect(apps).not_to_contain_text("Firefox")
    await page.screenshot(path=shots / "rmm-device-applications.png", full_page=True)


async def test_acknowledge_an_alert(page: Page, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path) -> None:
    await sign_in(page, tenancy.operator, target="/rmm?tab=alerts")

    async def raised() -> bool:  # the batched writer raises the alert when it stores the 97 % sample
        return "CPU at 97.0%" in await (await page.request.get("/rmm?tab=alerts")).text()

    await eventually(raised, within=10, every=0.2, message="the CPU alert")
    await page.reload()
    row = page.locator("tr[data-alert-status]").filter(has_text="LON-DB-01").filter(has_text="CPU at 97.0%")
    await expect(row).to_have_attribute("data-alert-status", "open")
    await row.get_by_role("button", name=re.compile("^Acknowledge alert")).click()
    await expect(row).to_have_attribute("data-alert-status", "acknowledged")
    await expect(row).to_contain_text("by olga")
    await expect(row.locator('[data-outcome="done"]')).to_be_visible()
    await page.screenshot(path=shots / "rmm-alerts-acknowledged.png", full_page=True)


async def test_run_command_waits_for_approval(
    page: Page, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path
) -> None:
    web = fleet["web"]
    await sign_in(page, tenancy.operator, target=f"/rmm/devices/{web.device_id}")
    await page.get_by_role("textbox", name="Run command").fill("uptime; df -h /")
    await page.get_by_label("Reason").fill("slow box")
    await page.get_by_role("button", name="Run", exact=True).click()
    pending = page.locator('#command-output [data-outcome="pending"]')
    await expect(pending).to_contain_text(re.compile(r"pending approval #\d+"))
    await page.screenshot(path=shots / "rmm-run-command-pending.png", full_page=True)


async def test_uninstall_refused_by_policy(
    page: Page, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path
) -> None:
    """Under its seeded ``never`` the Uninstall button is disabled and says why (issue 10 item 11)."""
    web = fleet["web"]
    await sign_in(page, tenancy.admin, target=f"/rmm/devices/{web.device_id}")
    button = page.get_by_role("button", name="Uninstall agent")
    await expect(button).to_be_disabled()
    await expect(button).to_have_attribute("title", re.compile("Uninstall is not allowed by policy"))
    await expect(page.get_by_test_id("uninstall-why")).to_contain_text("an admin can change it under Policies")
    await page.screenshot(path=shots / "rmm-uninstall-refused.png", full_page=True)


async def test_admin_copies_an_install_command(page: Page, tenancy: Tenancy, shots: Path, live_server: Any) -> None:
    await sign_in(page, tenancy.admin, target="/admin/rmm/installers")
    base = page.locator('article[data-kind="base"]')
    command = base.locator('[data-os="linux"] code')
    await expect(command).to_contain_text("curl -fsSL")
    await expect(command).to_contain_text(f"{live_server.url}/install/rmi_")
    await base.get_by_role("button", name="Copy the Linux command of Base installer").click()
    await expect(base.locator('[data-os="linux"] button')).to_have_attribute("data-copied", "true")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == (await command.text_content() or "").strip()
    async with httpx.AsyncClient(timeout=10) as client:
        script = await client.get(copied.split("curl -fsSL ")[1].split(" ")[0])
    assert script.status_code == 200 and "rmmhub" in script.text
    await page.screenshot(path=shots / "admin-installers.png", full_page=True)


async def test_admin_saves_thresholds(page: Page, tenancy: Tenancy, shots: Path) -> None:
    await sign_in(page, tenancy.admin, target="/admin/rmm/thresholds")
    await page.get_by_label("CPU warn %").fill("95")
    await page.get_by_label("CPU danger %").fill("90")
    await page.get_by_role("button", name="Save thresholds").click()
    await expect(page.get_by_test_id("threshold-errors")).to_contain_text("must be below the danger threshold")
    await page.get_by_label("CPU warn %").fill("70")
    await page.get_by_role("button", name="Save thresholds").click()
    await expect(page.get_by_role("status")).to_contain_text("Thresholds saved")
    await expect(page.get_by_test_id("threshold-origin")).to_contain_text("by alice")
    await expect(page.get_by_label("CPU warn %")).to_have_value("70.0")
    await page.screenshot(path=shots / "admin-thresholds.png", full_page=True)


async def test_command_output_is_pushed_over_the_event_stream(
    page: Page, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path, live_server: LiveServer
) -> None:
    """Nothing polls: the pending request follows its ``approval.decided`` event and the command box its
    ``command.updated`` events, both over the page's one SSE stream."""
    web = fleet["web"]
    await sign_in(page, tenancy.operator, target=f"/rmm/devices/{web.device_id}")
    await expect(page.locator("body")).to_have_attribute("data-live", "on")
    await page.get_by_role("textbox", name="Run command").fill("echo pushed")
    await page.get_by_role("button", name="Run", exact=True).click()
    pending = page.locator('#command-output [data-outcome="pending"]')
    await expect(pending).to_contain_text(re.compile(r"pending approval #\d+"))
    approval_id = await pending.get_attribute("data-approval-id")
    assert approval_id is not None
    assert "every" not in (await page.locator("#command-output").inner_html()), "no polling trigger"

    headers = {"Authorization": f"Bearer {tenancy.approver.token}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as api:
        decided = await api.post(f"/api/v1/approvals/{approval_id}/approve", json={"note": "ok"})
        assert decided.status_code == 200, decided.text
    box = page.locator("#command-output [data-command-id]")
    await expect(box).to_have_attribute("data-command-status", "queued")
    assert "every" not in (await page.locator("#command-output").inner_html()), "no polling trigger"

    handed = await web.agent.checkin()
    assert [c.body for c in handed.commands] == ["echo pushed"]
    reported = await web.agent.report_result(ok_result(handed.commands[0].id, "pushed over sse\n"))
    assert reported.status_code in (200, 204), reported.text
    await expect(box).to_have_attribute("data-command-status", "succeeded")
    await expect(box.get_by_test_id("command-stdout")).to_contain_text("pushed over sse")
    await page.screenshot(path=shots / "rmm-command-output-live.png", full_page=True)
