"""The assistant chat in a real headless Chromium: ask to run a script, see the approval wait, approve it as
another user in /policies, and watch the same chat resume with the output (the built-in model, the real gate)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from hub.core.db import Database
from hub.core.registry import Tool, ToolAnnotations, ToolContext
from hub.core.roles import Role
from hub.core.tenancy import unassigned_site
from native_rmm.models.devices import Device, DeviceStatus
from tests.conftest import LiveServer, Tenancy, TestUser
from tests.csp import watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["device_ids"],
    "properties": {
        "device_ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
        "clear_queue": {"type": "boolean", "title": "Clear stuck jobs"},
    },
}
RAN: list[dict[str, Any]] = []
#: A count of two or more pieces.
MANY = re.compile(r"^([2-9]|[1-9][0-9]+)$")


async def _spooler(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    RAN.append(args)
    return {"exit_code": 0, "output": "<b>Spooler restarted</b>"}


@pytest.fixture
def spooler_tool(live_server: LiveServer) -> None:
    RAN.clear()
    live_server.app.state.hub.registry.register(
        Tool(
            "uitest",
            "rmm-script-restart-print-spooler",
            "Run the script 'Restart print spooler' (Windows, powershell) on one or more devices. Restarts the spooler.",
            SCHEMA,
            _spooler,
            ToolAnnotations(read_only=False),
            result_type=dict[str, Any],
            min_role=Role.OPERATOR,
        )
    )


@pytest_asyncio.fixture(loop_scope="module")
async def contexts(browser: Browser, live_server: LiveServer) -> AsyncIterator[list[BrowserContext]]:
    made: list[tuple[BrowserContext, Any]] = []
    for _ in range(2):
        context = await browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
        context.set_default_timeout(20_000)
        made.append((context, await watch_csp(context)))
    yield [c for c, _ in made]
    for context, csp in made:
        await context.close()
        csp.check()


async def _sign_in(page: Page, user: TestUser, target: str) -> None:
    await page.goto(f"/login?next={target}")
    await page.get_by_label("Username").fill(user.username)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**{target}")


async def test_chat_waits_for_approval_and_resumes_live(
    contexts: list[BrowserContext],
    live_server: LiveServer,
    tenancy: Tenancy,
    db: Database,
    spooler_tool: None,
    artifacts: Path,
) -> None:
    async with db.transaction() as session:
        site = await unassigned_site(session, tenancy.org_id)
        device = Device(
            org_id=tenancy.org_id,
            site_id=site.id,
            hostname="PRN-WS-01",
            display_name="front desk PC",
            os_name="Windows 11 Pro",
            status=DeviceStatus.ONLINE,
            is_demo=True,
            agent_version="demo",
        )
        session.add(device)
    chat = await contexts[0].new_page()
    await _sign_in(chat, tenancy.operator, "/assistant")
    await expect(chat.get_by_test_id("active-model")).to_contain_text("built-in offline model")
    await chat.get_by_label("Message").fill("restart the print spooler on prn-ws1")
    await chat.get_by_role("button", name="Send").click()
    waiting = chat.locator('.assistant-step[data-status="pending_approval"]')
    await expect(waiting).to_contain_text("rmm-script-restart-print-spooler")
    await expect(waiting).to_contain_text("waiting for approval #")
    approval_id = await waiting.get_attribute("data-approval")
    await expect(chat.locator("#chat-log")).to_contain_text(f"waiting for approval #{approval_id}")
    root = chat.locator("#assistant-chat")
    await expect(root).to_have_attribute("data-stream-chunks", MANY)  # the hub-written wait came in pieces
    await chat.screenshot(path=artifacts / "assistant-waiting.png", full_page=True)
    assert RAN == []

    approver = await contexts[1].new_page()
    await _sign_in(approver, tenancy.approver, "/policies")
    async with approver.expect_response(f"**/policies/approvals/{approval_id}/decide") as decided:
        await approver.get_by_role("button", name=f"Approve #{approval_id}").click()
    assert (await decided.value).status == 200

    done = chat.locator(f'.assistant-step[data-status="done"][data-approval="{approval_id}"]')
    await expect(done).to_contain_text("rmm-script-restart-print-spooler")
    await expect(chat.locator(".assistant-assistant").last).to_contain_text("Spooler restarted")
    await expect(root).to_have_attribute("data-live-chunks", MANY)  # the resumed reply streamed in, live
    assert await chat.locator("#chat-log b").count() == 0  # tool output is text, never HTML
    await chat.screenshot(path=artifacts / "assistant-resumed.png", full_page=True)
    assert [args for args in RAN] == [{"device_ids": [device.id]}]
