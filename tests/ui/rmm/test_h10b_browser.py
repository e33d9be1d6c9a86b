"""Issue 10 in a real headless Chromium against a live hub on loopback: the tickets tab from list to
comment, command history after leaving and returning, a two-person approval, and role-aware auto for
an admin. Screenshots go to ``tests/artifacts/rmm/``."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from native_rmm.testing.agentsim import ok_result
from tests.conftest import LiveServer, Tenancy, TestUser
from tests.ui.conftest import csp_page
from tests.ui.rmm.conftest import Enrolled
from tests.ui.rmm.test_rmm_browser import SHOTS, fleet, sign_in
from tests.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
__all__ = ["SHOTS", "fleet"]


@pytest_asyncio.fixture(loop_scope="module")
async def new_page(browser: Browser, live_server: LiveServer) -> AsyncIterator[object]:
    """``await new_page()``: a fresh browser context and page (one per person in a test)."""
    async with contextlib.AsyncExitStack() as stack:

        async def make() -> Page:
            return await stack.enter_async_context(csp_page(browser, live_server.url))

        yield make


def api(live_server: LiveServer, user: TestUser) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {user.token}"})


async def put_policy(live_server: LiveServer, admin: TestUser, tool: str, body: dict[str, object]) -> None:
    async with api(live_server, admin) as client:
        r = await client.put(f"/api/v1/policies/{tool}", json=body)
        assert r.status_code == 200, r.text


async def test_tickets_tab_from_list_to_comment(
    new_page: object, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path, live_server: LiveServer
) -> None:
    for tool in ("rmm-create-ticket", "rmm-comment-ticket", "rmm-update-ticket"):
        await put_policy(live_server, tenancy.admin, f"native_rmm:{tool}", {"mode": "auto"})
    page: Page = await new_page()  # type: ignore[operator]
    await sign_in(page, tenancy.operator, target="/rmm?tab=tickets")
    await expect(page.locator("#ticket-table")).to_contain_text("No tickets match")
    await page.get_by_test_id("new-ticket-toggle").click()
    await page.get_by_label("Title").fill("Web server slow")
    await page.get_by_label("External ref (PSA #)").fill("CW-4711")
    await page.locator("#t-priority").select_option("high")
    await page.get_by_role("button", name="Create ticket").click()
    await page.wait_for_url(re.compile(r"/rmm/tickets/\d+$"))
    await expect(page.get_by_test_id("external-ref")).to_have_text("CW-4711")

    await page.goto("/rmm?tab=tickets")
    row = page.locator("#ticket-table tbody tr").first
    await expect(row).to_contain_text("Web server slow")
    await expect(row).to_contain_text("CW-4711")
    await page.locator("#tf-priority").select_option("low")
    await expect(page.locator("#ticket-table")).to_contain_text("No tickets match")
    await page.locator("#tf-priority").select_option("high")
    await expect(page.locator("#ticket-table tbody tr")).to_have_count(1)
    await page.screenshot(path=shots / "tickets-list.png", full_page=True)

    await page.locator("#ticket-table").get_by_role("link", name="Web server slow").click()
    await page.wait_for_url(re.compile(r"/rmm/tickets/\d+$"))
    await page.get_by_role("textbox", name="Add a comment").fill("Restarted php-fpm; watching it")
    await page.get_by_role("button", name="Comment").click()
    await expect(page.locator(".comments")).to_contain_text("Restarted php-fpm; watching it")
    await page.locator("#ticket-status").select_option("resolved")
    await page.get_by_role("button", name="Change status").click()
    await expect(page.locator("header[data-ticket-status]")).to_have_attribute("data-ticket-status", "resolved")
    await expect(page.locator(".comments")).to_contain_text("status: open → resolved")
    await page.screenshot(path=shots / "ticket-detail.png", full_page=True)


async def test_command_history_after_leaving_and_returning(
    new_page: object, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path, live_server: LiveServer
) -> None:
    web = fleet["web"]
    await put_policy(live_server, tenancy.admin, "native_rmm:rmm-run-command", {"mode": "auto"})
    page: Page = await new_page()  # type: ignore[operator]
    await sign_in(page, tenancy.operator, target=f"/rmm/devices/{web.device_id}")
    await page.get_by_role("textbox", name="Run command").fill("echo remembered")
    await page.get_by_role("button", name="Run", exact=True).click()
    box = page.locator("#command-output [data-command-id]")
    await expect(box).to_have_attribute("data-command-status", "queued")
    handed = await web.agent.checkin()
    reported = await web.agent.report_result(ok_result(handed.commands[0].id, "remembered output\n"))
    assert reported.status_code in (200, 204), reported.text
    await expect(box).to_have_attribute("data-command-status", "succeeded")

    await page.goto("/rmm")  # leave the page...
    await expect(page.get_by_role("table", name="Devices")).to_be_visible()
    await page.goto(f"/rmm/devices/{web.device_id}")  # ...and come back: the output is still there
    await page.get_by_role("link", name="Commands").click()
    await page.wait_for_url(re.compile(r"tab=commands"))
    history = page.get_by_role("table", name=re.compile("Commands on"))
    row = history.locator("tbody tr").first
    await expect(row).to_have_attribute("data-command-status", "succeeded")
    await expect(row).to_contain_text("echo remembered")
    await expect(row).to_contain_text("olga")
    await expect(row).to_contain_text("(auto)")
    await row.locator("summary").click()
    await expect(row.get_by_test_id("history-stdout")).to_contain_text("remembered output")
    await page.screenshot(path=shots / "device-command-history.png", full_page=True)


async def test_two_person_approval(
    new_page: object, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path, live_server: LiveServer
) -> None:
    web = fleet["web"]
    await put_policy(live_server, tenancy.admin, "native_rmm:rmm-run-command", {"approvals_required": 2})
    async with api(live_server, tenancy.operator) as client:
        asked = await client.post(
            "/api/v1/tools/rmm-run-command/invoke",
            json={"args": {"device": web.device_id, "command": "uname -a"}, "reason": "kernel check"},
        )
        assert asked.status_code == 202, asked.text
        approval_id = asked.json()["approval_id"]

    bob: Page = await new_page()  # type: ignore[operator]
    await sign_in(bob, tenancy.approver, target="/policies?tab=approvals")
    card = bob.locator(f"#approval-{approval_id}")
    await expect(card.get_by_test_id(f"approval-description-{approval_id}")).to_contain_text(
        "Run `uname -a` (bash) on LON-WEB-01 (Unassigned / Unassigned) as root"
    )
    await expect(card.get_by_test_id(f"approval-progress-{approval_id}")).to_have_text("0 of 2 approvals")
    await expect(card).to_contain_text("kernel check")
    await expect(card.locator("details.approval-raw")).not_to_have_attribute("open", "")
    await card.get_by_role("button", name=f"Approve #{approval_id}").click()
    card = bob.locator(f"#approval-{approval_id}")
    await expect(card.get_by_test_id(f"approval-progress-{approval_id}")).to_have_text("1 of 2 approvals")
    await expect(card).to_contain_text("you gave the first approval")
    await expect(bob.locator('[data-decision="first-approval"]')).to_contain_text("Nothing runs until a second person")
    await bob.screenshot(path=shots / "approval-1-of-2.png", full_page=True)

    bea: Page = await new_page()  # type: ignore[operator]
    await sign_in(bea, tenancy.approver2, target="/policies?tab=approvals")
    await bea.locator(f"#approval-{approval_id}").get_by_role("button", name=f"Approve #{approval_id}").click()
    decided = bea.locator(f"#decided-{approval_id}")
    await expect(decided).to_contain_text("executed")
    await expect(decided).to_contain_text("bob + bea")
    output = decided.locator(".approval-output-body table")

    async def shown() -> bool:
        # The queue re-renders on the decision's own live event; a click on the row it replaced is lost, so ask again.
        if await output.count() == 0:
            await decided.get_by_test_id(f"approval-output-{approval_id}").click()
        return await output.count() > 0

    await eventually(shown, within=40, every=2, message="the approval card shows the command it ran")
    await expect(output).to_contain_text("uname -a")
    await bea.screenshot(path=shots / "approval-2-of-2-output.png", full_page=True)


async def test_role_aware_auto_for_an_admin(
    new_page: object, fleet: dict[str, Enrolled], tenancy: Tenancy, shots: Path, live_server: LiveServer
) -> None:
    web = fleet["web"]
    page: Page = await new_page()  # type: ignore[operator]
    await sign_in(page, tenancy.admin, target="/policies")
    await page.goto("/policies?tab=policies&q=rmm-run-command")
    row = page.locator('tr[data-tool="native_rmm:rmm-run-command"]')
    await row.locator("details.policy-advanced summary").click()
    await row.get_by_label("Mode for admin on native_rmm:rmm-run-command").select_option("auto")
    await row.get_by_role("button", name="Save").click()
    row = page.locator('tr[data-tool="native_rmm:rmm-run-command"]')
    await expect(row.get_by_test_id("role-modes")).to_contain_text("admin: auto")
    await expect(row).to_have_attribute("data-mode", "approval")
    await page.screenshot(path=shots / "policy-role-modes.png", full_page=True)

    await page.goto(f"/rmm/devices/{web.device_id}")
    await page.get_by_role("textbox", name="Run command").fill("id")
    await page.get_by_role("button", name="Run", exact=True).click()
    await expect(page.locator("#command-output [data-command-id]")).to_have_attribute("data-command-status", "queued")
    async with api(live_server, tenancy.operator) as client:
        asked = await client.post(
            "/api/v1/tools/rmm-run-command/invoke", json={"args": {"device": web.device_id, "command": "id"}}
        )
        assert asked.status_code == 202, asked.text
    async with api(live_server, tenancy.admin) as client:
        audit = (await client.get("/api/v1/audit", params={"event": "policy.changed"})).json()
        assert audit[0]["detail"]["after"]["role_modes"] == {"admin": "auto"}
    await page.screenshot(path=shots / "admin-auto-run.png", full_page=True)
