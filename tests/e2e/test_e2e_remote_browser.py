"""The Remote Connection window in real headless Chromium, under the hub's Content-Security-Policy:
the device page opens a session through the gate, the window runs xterm.js over the relay to a real
agent's PTY, and noVNC over the relay to a real x11vnc on Xvfb."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from native_rmm.models.remote import RemoteSession, RemoteSessionEvent
from tests.csp import CspWatch, watch_csp
from tests.e2e.conftest import E2EHub, StartAgent, agent_env, result_of, set_policy
from tests.vnc import RED_BOX, Desktop, vnc_server_fixture  # noqa: F401 (the vnc_server fixture)
from tests.waiting import eventually

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


@pytest.fixture(name="browser")
async def browser_fixture() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        await instance.close()


async def terminal_text(page: Any) -> str:
    return str(await page.locator(".xterm-rows").inner_text())


async def open_window(e2e_hub: E2EHub, browser: Any, device_id: int, button: str) -> tuple[Any, Any, CspWatch]:
    """Sign in as the operator, press ``button`` in the device's Remote Connection panel, follow the link."""
    context = await browser.new_context(base_url=e2e_hub.url)
    csp = await watch_csp(context)
    page = await context.new_page()
    user = e2e_hub.tenancy.operator
    await page.goto(f"/login?next=/rmm/devices/{device_id}")
    await page.get_by_label("Username").fill(user.username)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**/rmm/devices/{device_id}")
    await page.locator("#remote-btn").click()
    await page.locator(button).click()
    async with context.expect_page() as popup_info:
        await page.locator("#remote-window-link").click()
    window = await popup_info.value
    return context, window, csp


async def test_shell_in_the_remote_connection_window(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, browser: Any
) -> None:
    await start_agent(
        "run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token", e2e_hub.base_token
    )
    device = await e2e_hub.connected_device()
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    await set_policy(admin, "rmm-open-shell-session", "auto")
    await set_policy(admin, "rmm-run-command", "auto")
    context, window, csp = await open_window(e2e_hub, browser, device.id, "#remote-open-shell")
    try:
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
        # 24-bit colour makes xterm.js set style attributes: the page's CSP shim must carry them.
        await window.keyboard.type("printf '\\033[38;2;255;0;0mRED\\033[0m-%s\\n' done")
        await window.keyboard.press("Enter")
        await window.wait_for_function(
            "() => document.querySelector('.xterm-rows').innerText.includes('RED-done')", timeout=15_000
        )
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
        # Commands tab: the device's queue; the output arrives over the event stream (pushed).
        await window.locator("#tab-commands").click()
        await window.locator("#commands-input").fill("echo cmd-$((3*4))")
        await window.locator("#commands-run").click()
        done = window.locator('#commands-list [data-command-status="succeeded"]').filter(has_text="echo cmd-")
        await done.wait_for(timeout=30_000)
        assert "cmd-12" in await done.inner_text()
        assert "remote_session" not in await window.locator("#commands-list").inner_text()  # no tickets shown
        await window.locator("#tab-shell").click()
        await window.locator("#remote-end").click()
        await window.wait_for_selector('#remote-status[data-state="ended"]', timeout=15_000)
        # The session row, its trail and the recording: the relay reports, the hub stores.
        row = await ended_session(e2e_hub)
        assert row.recording == f"{row.sid}.cast" and row.kind == "shell"
        page = await context.new_page()
        await page.goto("/rmm?tab=sessions")
        await page.wait_for_selector(f'tr[data-session-id="{row.id}"][data-status="ended"]')
        await page.goto(f"/remote-sessions/{row.id}")
        for kind in ("opened", "viewer-joined", "ended"):
            assert await page.locator(f'tr[data-event="{kind}"]').count() >= 1, kind
        await page.select_option("#replay-speed", "0")
        await page.locator("#replay-start").click()
        await page.wait_for_selector('#replay-terminal[data-state="done"]', timeout=15_000)
        replayed = await page.locator("#replay-terminal .xterm-rows").inner_text()
        assert "hello-42" in replayed and "RED-done" in replayed
        csp.check()
    finally:
        await context.close()


async def ended_session(e2e_hub: E2EHub) -> RemoteSession:
    """The (only) remote session once the relay's report of its end is stored."""

    async def check() -> RemoteSession | None:
        async with e2e_hub.db.sessionmaker() as session:
            row = await session.scalar(select(RemoteSession).order_by(RemoteSession.id.desc()).limit(1))
        return row if row is not None and row.ended_at is not None else None

    found: RemoteSession = await eventually(check, within=20, message="the ended remote session")
    return found


async def test_screen_tab_shows_the_remote_desktop(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, browser: Any, vnc_server: Desktop
) -> None:
    await start_agent(
        "run",
        "--state-dir",
        str(tmp_path / "state"),
        "--hub",
        e2e_hub.url,
        "--token",
        e2e_hub.base_token,
        env=agent_env(RMMHUB_AGENT_VNC_PORT=str(vnc_server.port)),
    )
    device = await e2e_hub.connected_device()
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-open-screen-session", "auto")
    context, window, csp = await open_window(e2e_hub, browser, device.id, "#remote-open-screen")
    try:
        await window.wait_for_selector('#remote-screen[data-connected="true"]', timeout=30_000)
        x, y, w, h = RED_BOX
        # The canvas holds the remote framebuffer at its own size: sample inside the red window.
        await window.wait_for_function(
            """([x, y]) => {
                const canvas = document.querySelector('#remote-screen canvas');
                if (!canvas || canvas.width !== 800) return false;
                const [r, g, b] = canvas.getContext('2d').getImageData(x, y, 1, 1).data;
                return r > 200 && g < 60 && b < 60;
            }""",
            arg=[x + w // 2, y + h - 10],
            timeout=30_000,
        )
        outside = await window.evaluate(
            """() => Array.from(document.querySelector('#remote-screen canvas').getContext('2d')
                   .getImageData(700, 500, 1, 1).data.slice(0, 3))"""
        )
        assert outside != [255, 0, 0]  # the rest of the desktop is not red: these are real remote pixels
        await window.wait_for_function(
            "() => document.getElementById('fig-latency').textContent.endsWith(' ms')", timeout=15_000
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await window.screenshot(path=ARTIFACTS / "remote-screen.png")
        # Toolbar: original size turns scaling off, fit turns it back on.
        await window.locator("#screen-original").click()
        assert await window.evaluate("() => window.remoteScreen.scaleViewport") is False
        await window.locator("#screen-fit").click()
        assert await window.evaluate("() => window.remoteScreen.scaleViewport") is True
        await window.locator('[data-end="screen"]').click()
        await window.wait_for_selector('#remote-status[data-state="ended"]', timeout=15_000)
        csp.check()
    finally:
        await context.close()


async def test_files_tab_round_trips_50_mib_byte_for_byte(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, browser: Any
) -> None:
    await start_agent(
        "run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token", e2e_hub.base_token
    )
    device = await e2e_hub.connected_device()
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    for tool in ("rmm-open-files-session", "rmm-transfer-file"):
        await set_policy(admin, tool, "auto")
    source = tmp_path / "source" / "big.bin"
    source.parent.mkdir()
    with source.open("wb") as out:
        for _ in range(50):
            out.write(os.urandom(1 << 20))
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    target = tmp_path / "on-device"
    target.mkdir()
    context, window, csp = await open_window(e2e_hub, browser, device.id, "#remote-open-files")
    try:
        await window.wait_for_selector("#files-table tbody[data-path]", state="attached", timeout=30_000)
        await window.locator("#files-path").fill(str(target))
        await window.locator("#files-go").click()
        await window.wait_for_function(
            f"() => document.querySelector('#files-table tbody').dataset.path === {json.dumps(str(target))}"
        )
        assert "2.0 GiB" in await window.locator("#files-limit").inner_text()
        await window.set_input_files("#files-upload", str(source))
        await window.wait_for_selector('.transfer[data-state="done"]', state="attached", timeout=120_000)
        await window.wait_for_selector('tr[data-name="big.bin"]', state="attached", timeout=30_000)
        assert hashlib.sha256((target / "big.bin").read_bytes()).hexdigest() == expected
        async with window.expect_download(timeout=120_000) as download_info:
            await window.locator('[data-download="big.bin"]').click()
        download = await download_info.value
        saved = tmp_path / "downloaded.bin"
        await download.save_as(saved)
        assert saved.stat().st_size == 50 << 20
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected
        csp.check()
    finally:
        await context.close()

    async def transfers() -> list[dict[str, Any]] | None:
        async with e2e_hub.db.sessionmaker() as session:
            rows = (
                await session.scalars(select(RemoteSessionEvent).where(RemoteSessionEvent.kind == "file-transferred"))
            ).all()
        return [row.data for row in rows] if len(rows) >= 2 else None

    recorded = await eventually(transfers, within=20, message="both transfers in the session trail")
    assert {r["direction"] for r in recorded} == {"upload", "download"}
    assert all(r["sha256"] == expected and r["size"] == 50 << 20 and r["name"] == "big.bin" for r in recorded)


async def test_quick_support_tab_creates_a_session_and_joins_the_machine(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, browser: Any
) -> None:
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    for tool in ("rmm-create-quick-support-session", "rmm-open-shell-session"):
        await set_policy(admin, tool, "auto")
    context = await browser.new_context(base_url=e2e_hub.url)
    csp = await watch_csp(context)
    try:
        page = await context.new_page()
        user = e2e_hub.tenancy.operator
        await page.goto("/login?next=/rmm%3Ftab%3Dquick-support")
        await page.get_by_label("Username").fill(user.username)
        await page.get_by_label("Password").fill(user.password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/rmm?tab=quick-support")
        await page.get_by_label("Who is calling").fill("Call 4711")
        await page.locator("#qs-create").click()
        await page.locator("#qs-outcome > *").first.wait_for()
        command = await page.locator("#qs-cmd-linux").inner_text()
        assert f"{e2e_hub.url}/install/" in command
        token = command.split("/install/")[1].split("/")[0]
        # The end user runs the one-shot command: a quick-support agent with that token.
        await start_agent(
            "run",
            "--foreground",
            "--quick-support",
            "--hub",
            e2e_hub.url,
            "--state-dir",
            str(tmp_path / "qs"),
            env=agent_env(RMMHUB_AGENT_TOKEN=token),
        )
        device = await e2e_hub.connected_device()
        connect = page.locator(f'[data-qs-connect="{device.id}"]')
        await connect.wait_for(timeout=30_000)  # the machine appears by itself
        await connect.click()
        async with context.expect_page() as popup_info:
            await page.locator("#remote-window-link").click()
        window = await popup_info.value
        await window.wait_for_selector('#remote-status[data-state="connected"]', timeout=30_000)
        await window.locator(".xterm-helper-textarea").focus()
        await window.keyboard.type("echo qs-$((6*7))")
        await window.keyboard.press("Enter")
        await window.wait_for_function(
            "() => document.querySelector('.xterm-rows').innerText.includes('qs-42')", timeout=15_000
        )
        await window.locator("#remote-end").click()
        await window.wait_for_selector('#remote-status[data-state="ended"]', timeout=15_000)
        csp.check()
    finally:
        await context.close()


async def test_viewers_join_in_their_windows_a_fifth_is_refused_and_view_only_input_is_dropped(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, browser: Any
) -> None:
    await start_agent(
        "run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token", e2e_hub.base_token
    )
    device = await e2e_hub.connected_device()
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    for tool in ("rmm-open-shell-session", "rmm-join-remote-session"):
        await set_policy(admin, tool, "auto")
    operator = e2e_hub.client(e2e_hub.tenancy.operator)
    opened = await result_of(operator, "rmm-open-shell-session", {"device": device.id})
    context = await browser.new_context(base_url=e2e_hub.url)
    csp = await watch_csp(context)
    try:
        page = await context.new_page()
        user = e2e_hub.tenancy.operator
        await page.goto("/login?next=/remote-sessions")
        await page.get_by_label("Username").fill(user.username)
        await page.get_by_label("Password").fill(user.password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/remote-sessions")

        async def window_for(grant: dict[str, Any]) -> Any:
            win = await context.new_page()
            fragment = urlencode({"kind": "shell", "relay": grant["relay_url"], "ticket": grant["ticket"]})
            await win.goto(f"/rmm/remote/{device.id}#{fragment}")
            return win

        windows = [await window_for(opened)]
        await windows[0].wait_for_selector('#remote-status[data-state="connected"]', timeout=30_000)
        for view_only in (False, False, True):  # the second, third and a view-only fourth viewer
            joined = await result_of(
                operator, "rmm-join-remote-session", {"session": opened["session"], "view_only": view_only}
            )
            windows.append(await window_for(joined))
            await windows[-1].wait_for_selector('#remote-status[data-state="connected"]', timeout=30_000)
        await windows[0].wait_for_function(
            "() => document.getElementById('remote-viewers').textContent.split(',').length === 4", timeout=15_000
        )
        assert "(view only)" in await windows[0].locator("#remote-viewers").inner_text()
        fifth = await window_for(await result_of(operator, "rmm-join-remote-session", {"session": opened["session"]}))
        await fifth.wait_for_selector('#remote-status[data-state="ended"]', timeout=15_000)
        assert "4 viewers" in await fifth.locator("#remote-status").inner_text()
        # The view-only window types: the relay drops it; the second window's command shows everywhere.
        watcher = windows[3]
        await watcher.locator(".xterm-helper-textarea").focus()
        await watcher.keyboard.type("echo LEAK$((6*7))")
        await watcher.keyboard.press("Enter")
        await windows[1].locator(".xterm-helper-textarea").focus()
        await windows[1].keyboard.type("echo DONE$((2*3))")
        await windows[1].keyboard.press("Enter")
        for win in windows[:4]:
            await win.wait_for_function(
                "() => document.querySelector('.xterm-rows').innerText.includes('DONE6')", timeout=15_000
            )
            assert "LEAK42" not in await terminal_text(win)
        csp.check()
    finally:
        await context.close()
