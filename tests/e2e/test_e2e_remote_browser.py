"""The Remote Connection window in real headless Chromium: the device page opens a shell session
through the gate, the window runs xterm.js over the relay to a real agent's PTY."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import E2EHub, StartAgent, set_policy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (make system-deps)"),
    pytest.mark.browser,
    pytest.mark.slow,
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        await instance.close()


async def terminal_text(page: Any) -> str:
    return str(await page.locator(".xterm-rows").inner_text())


async def test_shell_in_the_remote_connection_window(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, browser: Any
) -> None:
    await start_agent(
        "run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token", e2e_hub.base_token
    )
    device = await e2e_hub.connected_device()
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-open-shell-session", "auto")
    context = await browser.new_context(base_url=e2e_hub.url)
    try:
        page = await context.new_page()
        user = e2e_hub.tenancy.operator
        await page.goto(f"/login?next=/rmm/devices/{device.id}")
        await page.get_by_label("Username").fill(user.username)
        await page.get_by_label("Password").fill(user.password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"**/rmm/devices/{device.id}")
        await page.locator("#remote-btn").click()
        await page.locator("#remote-open-shell").click()
        async with context.expect_page() as popup_info:
            await page.locator("#remote-window-link").click()
        window = await popup_info.value
        await window.wait_for_selector('#remote-status[data-state="connected"]', timeout=30_000)
        assert "ticket=" not in window.url  # the fragment was cleared from the address bar
        await window.locator(".xterm-helper-textarea").focus()
        await window.keyboard.type("echo hel''lo-$((6*7))")
        await window.keyboard.press("Enter")
        await window.wait_for_function(
            "() => document.querySelector('.xterm-rows').innerText.includes('hello-42')", timeout=15_000
        )
        text = await terminal_text(window)
        assert "hello-42" in text
        before = await window.evaluate("() => [window.remoteTerminal.cols, window.remoteTerminal.rows]")
        await window.set_viewport_size({"width": 1400, "height": 900})
        await window.wait_for_function(f"() => window.remoteTerminal.cols > {before[0]}", timeout=10_000)
        await window.keyboard.type("stty size")
        await window.keyboard.press("Enter")
        cols, rows = await window.evaluate("() => [window.remoteTerminal.cols, window.remoteTerminal.rows]")
        await window.wait_for_function(
            f"() => document.querySelector('.xterm-rows').innerText.includes('{rows} {cols}')", timeout=15_000
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await window.screenshot(path=ARTIFACTS / "remote-shell.png")
        await window.locator("#remote-end").click()
        await window.wait_for_selector('#remote-status[data-state="ended"]', timeout=15_000)
    finally:
        await context.close()
