"""An MSP's day in a real headless Chromium against a live hub: customers and sites, moving devices,
who uses a device, and a bulk script run on a tag (one approval naming every device, per-device
output as it arrives). Screenshots go to ``tests/artifacts/rmm/``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from hub.core.db import Database
from native_rmm.testing.agentsim import SimAgent, ok_result
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import LiveServer, Tenancy, base_token
from tests.ui.conftest import csp_page
from tests.ui.rmm.conftest import Enrolled, enroll_and_checkin
from tests.ui.rmm.test_rmm_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "rmm"
HOSTS = ("BRS-FS-01", "BRS-PC-07", "LON-PC-02")
TOP_SCRIPT = {
    "name": "Busiest processes",
    "os_type": "LINUX",
    "shell": "bash",
    "body": "ps aux --sort=-%cpu | head\n",
    "description": "The ten busiest processes.",
}


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, live_server: LiveServer) -> AsyncIterator[Page]:
    """A taller window: the day's overview fits on one screenshot."""
    async with csp_page(browser, live_server.url, viewport=(1500, 1000)) as tab:
        yield tab


@pytest_asyncio.fixture(loop_scope="module")
async def fleet(live_server: LiveServer, db: Database, tenancy: Tenancy) -> AsyncIterator[dict[str, Enrolled]]:
    token = await base_token(db, tenancy.org_id)
    agents = [SimAgent(live_server.url, hostname=name) for name in HOSTS]
    try:
        yield {a.hostname: await enroll_and_checkin(a, token, history_minutes=1, apps=False) for a in agents}
    finally:
        for agent in agents:
            await agent.aclose()


async def _tick(page: Page, *labels: str) -> None:
    for label in labels:
        await page.get_by_role("checkbox", name=f"Select {label}").check()


async def test_create_customer_and_site_and_move_two_devices(
    page: Page, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path
) -> None:
    await sign_in(page, tenancy.admin, target="/admin/rmm/customers")
    await page.get_by_label("Name", exact=True).fill("Contoso Ltd")
    await page.get_by_label("First site").fill("Main office")
    await page.get_by_role("button", name="Create customer").click()
    contoso = page.locator('[data-customer="Contoso Ltd"]')
    await expect(contoso).to_be_visible()
    await page.get_by_role("textbox", name="New site for Contoso Ltd").fill("Bristol")
    await page.get_by_role("button", name="Add site to Contoso Ltd").click()
    await expect(page.locator('[data-customer="Contoso Ltd"] [data-site="Bristol"]')).to_be_visible()
    await page.screenshot(path=shots / "msp-customers-created.png", full_page=True)

    await page.goto("/rmm?tab=devices")
    await _tick(page, "BRS-FS-01", "BRS-PC-07")
    await expect(page.get_by_test_id("bulk-count")).to_have_text("2")
    await page.get_by_label("Action", exact=True).select_option("move")
    await page.get_by_label("Destination site").select_option(label="Contoso Ltd / Bristol")
    await page.get_by_role("button", name="Apply").click()
    result = page.locator('#bulk-result [data-outcome="done"]')
    await expect(result).to_contain_text("Move devices on 2 device(s): done")
    await expect(page.get_by_test_id("bulk-targets")).to_contain_text("BRS-FS-01 (Unassigned / Unassigned)")

    await page.get_by_label("Customer", exact=True).select_option(label="Contoso Ltd")
    table = page.locator("#device-table")
    await expect(table.locator("tr[data-device-id]")).to_have_count(2)
    await expect(table).to_contain_text("Bristol")
    await page.screenshot(path=shots / "msp-devices-moved.png", full_page=True)
    await page.goto("/admin/rmm/customers")
    await expect(
        page.locator('[data-customer="Contoso Ltd"] [data-site="Bristol"] [data-testid="site-devices"]')
    ).to_have_text("2")
    # Archiving a customer with devices is refused, and says why.
    await page.get_by_role("button", name="Archive Contoso Ltd").click()
    await expect(page.locator('[data-outcome="failed"]')).to_contain_text("still has 2 device(s)")
    await page.screenshot(path=shots / "msp-archive-refused.png", full_page=True)


async def test_assign_a_user_and_find_the_device_by_priya(
    page: Page, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path
) -> None:
    device = fleet["LON-PC-02"].device_id
    await sign_in(page, tenancy.operator, target=f"/rmm/devices/{device}")
    await page.get_by_text("Edit user, role and tags").click()
    await page.get_by_label("Assigned user").fill("Priya Shah")
    await page.get_by_label("Email", exact=True).fill("priya.shah@contoso.example")
    await page.get_by_label("Description / role").fill("Reception PC")
    await page.get_by_label("Tags", exact=True).fill("Reception, kiosk")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_test_id("assigned-user")).to_contain_text("Priya Shah")
    await expect(page.get_by_test_id("device-description")).to_have_text("Reception PC")
    await expect(page.get_by_test_id("device-tags")).to_contain_text("reception")
    await page.screenshot(path=shots / "msp-device-user.png", full_page=True)

    await page.goto("/rmm?tab=devices")
    await page.get_by_label("User", exact=True).fill("priya")
    rows = page.locator("#device-table tr[data-device-id]")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-device-id", str(device))
    await expect(rows.first.get_by_test_id("device-user")).to_contain_text("Priya Shah")
    await page.screenshot(path=shots / "msp-find-by-priya.png", full_page=True)


async def test_bulk_script_on_a_tag_is_one_approval_with_per_device_output(
    page: Page, browser: Browser, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path, live_server: LiveServer
) -> None:
    headers = {"Authorization": f"Bearer {tenancy.admin.token}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as api:
        made = await api.post("/api/v1/rmm/scripts", json=TOP_SCRIPT)
        assert made.status_code == 201, made.text
    await sign_in(page, tenancy.operator, target="/rmm?tab=devices")
    await expect(page.locator("body")).to_have_attribute("data-live", "on")
    await _tick(page, "BRS-FS-01", "BRS-PC-07")
    await page.get_by_label("Action", exact=True).select_option("tag")
    await page.get_by_role("textbox", name="Tag", exact=True).fill("bristol")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator('#bulk-result [data-outcome="done"]')).to_contain_text("Add tag on 2 device(s)")

    await page.goto("/rmm?tab=devices&tag=bristol")
    await expect(page.locator("#device-table tr[data-device-id]")).to_have_count(2)
    await page.get_by_label("select all 2 matching").check()
    await expect(page.get_by_test_id("bulk-count")).to_have_text("2")
    await page.get_by_label("Action", exact=True).select_option("script")
    await page.get_by_label("Script", exact=True).select_option(label=TOP_SCRIPT["name"])
    await page.get_by_label("Reason", exact=True).fill("Bristol is slow")
    await page.get_by_role("button", name="Apply").click()
    pending = page.locator('#bulk-result .outcome[data-outcome="pending"]')
    await expect(pending).to_contain_text(re.compile(r"pending approval #\d+"))
    approval_id = await pending.get_attribute("data-approval-id")
    await page.screenshot(path=shots / "msp-bulk-pending.png", full_page=True)

    # The approver sees ONE approval naming every device.
    context = await browser.new_context(base_url=live_server.url, viewport={"width": 1500, "height": 1000})
    try:
        approver = await context.new_page()
        await sign_in(approver, tenancy.approver, target="/policies?tab=approvals")
        card = approver.locator(f"#approval-{approval_id}")
        names = card.locator(f'ul[aria-label="Targets of approval #{approval_id}"]')
        await expect(names).to_contain_text("BRS-FS-01 (Unassigned / Unassigned)")
        await expect(names).to_contain_text("BRS-PC-07 (Unassigned / Unassigned)")
        await expect(approver.locator("#approval-queue tr[data-approval-id]")).to_have_count(1)
        await approver.screenshot(path=shots / "msp-bulk-approval-card.png", full_page=True)
        await approver.get_by_role("button", name=f"Approve #{approval_id}").click()
        await expect(approver.locator(f"#decided-{approval_id}")).to_be_visible()
    finally:
        await context.close()

    boxes = page.locator("#bulk-result .bulk-command")
    await expect(boxes).to_have_count(2, timeout=30_000)
    for host in ("BRS-FS-01", "BRS-PC-07"):
        agent = fleet[host].agent
        handed = await agent.checkin()
        assert len(handed.commands) == 1 and handed.commands[0].kind.value == "script"
        reported = await agent.report_result(ok_result(handed.commands[0].id, f"top of {host}\n"))
        assert reported.status_code in (200, 204), reported.text
        box = page.locator(f'#bulk-result .bulk-command[data-device="{host}"] [data-command-id]')
        # Generous bound: on a loaded machine the box's re-read follows its event by a few seconds.
        await expect(box).to_have_attribute("data-command-status", "succeeded", timeout=30_000)
        await expect(box.get_by_test_id("command-stdout")).to_contain_text(f"top of {host}", timeout=30_000)
    await page.screenshot(path=shots / "msp-bulk-per-device-output.png", full_page=True)


async def test_bulk_limit_is_stated(page: Page, fleet: dict[str, Enrolled], tenancy: Tenancy) -> None:
    await sign_in(page, tenancy.operator, target="/rmm?tab=devices")
    await expect(page.locator("#bulk-form")).to_contain_text("One action may target at most 500 devices.")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#flash")).to_contain_text("select at least one device")


async def test_save_the_filters_as_a_group(
    page: Page, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path
) -> None:
    await sign_in(page, tenancy.operator, target="/rmm?tab=devices")
    await page.goto("/rmm?tab=devices&q=brs")
    await expect(page.locator("#device-table tr[data-device-id]")).to_have_count(2)
    await page.get_by_label("Save these filters as a group").fill("Bristol boxes")
    await page.get_by_role("button", name="Save group").click()
    await expect(page.locator('#bulk-result [data-outcome="done"]')).to_contain_text("Save group 'Bristol boxes': done")
    await page.goto("/rmm?tab=devices")
    await expect(page.locator("#device-table tr[data-device-id]")).to_have_count(3)
    await page.get_by_label("Group", exact=True).select_option(label="Bristol boxes")
    await expect(page.locator("#device-table tr[data-device-id]")).to_have_count(2)
    await page.screenshot(path=shots / "msp-saved-group.png", full_page=True)
