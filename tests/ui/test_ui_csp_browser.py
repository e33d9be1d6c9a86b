"""The Content-Security-Policy in a real Chromium: the violation check can fail, framing is refused, and
what used to be inline code (confirm prompts, meter widths, htmx's indicator styles) works without it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Dialog, Page, expect

from hub.core.db import Database
from tests.conftest import LiveServer, Tenancy, base_token
from tests.csp import CspWatch, watch_csp
from tests.ui.conftest import sign_in
from tests.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module")
async def watched(browser: Browser, live_server: LiveServer) -> AsyncIterator[tuple[Page, CspWatch]]:
    """A fresh context with the CSP watch on, and its page (the test decides what the watch must show)."""
    context = await browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 860})
    context.set_default_timeout(10_000)
    watch = await watch_csp(context)
    yield await context.new_page(), watch
    await context.close()


async def test_an_inline_script_is_blocked_and_reported(watched: tuple[Page, CspWatch], tenancy: Tenancy) -> None:
    page, watch = watched
    await sign_in(page, tenancy.approver, target="/policies")
    assert watch.violations == []
    await page.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "window.injected = true";
                   document.body.appendChild(s); }"""
    )
    await eventually(lambda: watch.violations, within=10, message="the violation report")
    assert await page.evaluate("window.injected === undefined")  # the policy blocked it, not only reported it
    with pytest.raises(AssertionError, match="Content-Security-Policy violations"):
        watch.check()


async def test_the_approvals_page_cannot_be_framed(
    watched: tuple[Page, CspWatch], tenancy: Tenancy, live_server: LiveServer
) -> None:
    """Reproduction: another site could frame the approvals page (clickjacking an approver)."""
    page, watch = watched
    await sign_in(page, tenancy.approver, target="/policies")
    await page.set_content(f'<iframe id="victim" src="{live_server.url}/policies?tab=approvals"></iframe>')
    await eventually(
        lambda: any("frame-ancestors" in v for v in watch.violations), within=10, message="frame-ancestors refusal"
    )
    frame = page.frame_locator("#victim")
    await expect(frame.get_by_role("heading", name="Approvals")).to_have_count(0)


async def test_confirm_prompts_and_meters_work_without_inline_code(
    watched: tuple[Page, CspWatch], tenancy: Tenancy, db: Database
) -> None:
    page, watch = watched
    await base_token(db, tenancy.org_id)
    await sign_in(page, tenancy.admin, target="/admin/rmm/installers")
    base = page.locator('article[data-kind="base"]')
    command = base.locator('[data-os="linux"] code')
    before = await command.text_content()
    questions: list[str] = []

    async def answer(dialog: Dialog, accept: bool) -> None:
        questions.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    def say(accept: bool) -> Any:
        return lambda dialog: answer(dialog, accept)

    page.once("dialog", say(False))
    await base.get_by_role("button", name="Regenerate Base installer").click()
    await eventually(lambda: questions, within=10, message="the confirm prompt")
    assert questions == ["Give Base installer a new token? Commands copied before stop working."]
    await page.reload()
    await expect(command).to_have_text(before or "")  # dismissed: nothing was sent

    page.once("dialog", say(True))
    await base.get_by_role("button", name="Regenerate Base installer").click()
    await expect(command).not_to_have_text(before or "")
    assert len(questions) == 2
    assert await page.locator("head style").count() == 0  # htmx injected no indicator <style>
    watch.check()
