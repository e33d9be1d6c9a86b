"""The relay's idle timeout in real headless Chromium against a real hub, relay and agent PTY, with
``relay_idle_timeout_minutes`` (``RMMHUB_RELAY_IDLE_TIMEOUT_MINUTES``) shortened to 9 s: the window
shows the warnings, typing restarts the clock, and then the relay closes the session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from native_rmm.models.remote import RemoteSessionEvent
from tests.e2e.conftest import E2EHub, StartAgent, set_policy
from tests.e2e.test_e2e_remote_browser import (  # noqa: F401 (the browser fixture and the markers)
    ARTIFACTS,
    browser_fixture,
    open_window,
    pytestmark,
)
from tests.waiting import eventually

IDLE_MINUTES = 0.15  # 9 s: warnings at 3 s, 6 s and 8.7 s of no input


@pytest.fixture
def live_overrides() -> dict[str, object]:
    return {"relay_idle_timeout_minutes": IDLE_MINUTES}


async def test_idle_warnings_then_the_relay_disconnects(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, browser: Any
) -> None:
    await start_agent(
        "run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token", e2e_hub.base_token
    )
    device = await e2e_hub.connected_device()
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-open-shell-session", "auto")
    context, window, csp = await open_window(e2e_hub, browser, device.id, "#remote-open-shell")
    try:
        await window.wait_for_selector('#remote-status[data-state="connected"]', timeout=30_000)
        idle = window.locator("#remote-idle")
        await idle.wait_for(state="visible", timeout=15_000)
        assert "the session closes in 6 s unless you type" in await idle.inner_text()
        # Typing hides the warning and restarts the relay's clock: the next warning is the first again.
        await window.locator(".xterm-helper-textarea").focus()
        await window.keyboard.type("echo still-here")
        await window.keyboard.press("Enter")
        await idle.wait_for(state="hidden", timeout=5_000)
        await idle.wait_for(state="visible", timeout=15_000)
        await window.wait_for_selector('#remote-status[data-state="ended"]', timeout=20_000)
        status = await window.locator("#remote-status").inner_text()
        assert "idle timeout: no input for 0.15 minutes" in status
        await window.screenshot(path=ARTIFACTS / "remote-idle-ended.png")
        csp.check()
    finally:
        await context.close()

    async def warned() -> list[str] | None:
        async with e2e_hub.db.sessionmaker() as session:
            rows = (await session.scalars(select(RemoteSessionEvent).order_by(RemoteSessionEvent.id))).all()
        kinds = [row.kind for row in rows]
        return kinds if "ended" in kinds else None

    kinds = await eventually(warned, within=15, message="the session's trail with its end")
    assert kinds.count("idle-warning") >= 4  # one warning, input, then all three before the end
