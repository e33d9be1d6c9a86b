"""The Remote Connection window in real headless Chromium against a real hub, relay and agent (a real
PTY): a view-only viewer's keystrokes never reach the shell (checked on the endpoint: its marker
file is never made), a dropped agent connection resumes the same shell in the open tab, and an
approval-gated shell tab connects by itself once a second user approves."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from native_rmm.models.remote import RemoteSessionEvent
from relay.server import RelayServer
from tests.conftest import LiveServer
from tests.csp import watch_csp
from tests.e2e.conftest import E2EHub, StartAgent, result_of, set_policy
from tests.e2e.test_e2e_remote_browser import (  # noqa: F401 (the browser fixture and the markers)
    ARTIFACTS,
    browser_fixture,
    open_window,
    pytestmark,
    terminal_text,
)
from tests.waiting import eventually


async def sign_in(page: Any, user: Any, target: str) -> None:
    await page.goto(f"/login?next={target}")
    await page.get_by_label("Username").fill(user.username)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**{target}")


async def type_line(window: Any, line: str) -> None:
    await window.locator(".xterm-helper-textarea").focus()
    await window.keyboard.type(line)
    await window.keyboard.press("Enter")


async def shows(window: Any, text: str) -> None:
    await window.wait_for_function(
        "(t) => document.querySelector('.xterm-rows').innerText.includes(t)", arg=text, timeout=15_000
    )


async def started_agent(e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path) -> int:
    await start_agent(
        "run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token", e2e_hub.base_token
    )
    return (await e2e_hub.connected_device()).id


async def trail(e2e_hub: E2EHub, kind: str) -> list[RemoteSessionEvent]:
    async with e2e_hub.db.sessionmaker() as session:
        return list((await session.scalars(select(RemoteSessionEvent).where(RemoteSessionEvent.kind == kind))).all())


async def test_view_only_keystrokes_never_reach_the_pty(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, browser: Any
) -> None:
    device_id = await started_agent(e2e_hub, start_agent, tmp_path)
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    for tool in ("rmm-open-shell-session", "rmm-join-remote-session"):
        await set_policy(admin, tool, "auto")
    operator = e2e_hub.client(e2e_hub.tenancy.operator)
    opened = await result_of(operator, "rmm-open-shell-session", {"device": device_id})
    watched = await result_of(operator, "rmm-join-remote-session", {"session": opened["session"], "view_only": True})
    leaked, typed = tmp_path / "view-only-was-here", tmp_path / "controller-was-here"
    context = await browser.new_context(base_url=e2e_hub.url)
    csp = await watch_csp(context)
    try:
        page = await context.new_page()
        await sign_in(page, e2e_hub.tenancy.operator, "/remote-sessions")

        async def window_for(grant: dict[str, Any]) -> Any:
            win = await context.new_page()
            fragment = urlencode({"kind": "shell", "relay": grant["relay_url"], "ticket": grant["ticket"]})
            await win.goto(f"/rmm/remote/{device_id}#{fragment}")
            await win.wait_for_selector('#remote-status[data-state="connected"]', timeout=30_000)
            return win

        controller, viewer = await window_for(opened), await window_for(watched)
        assert await viewer.evaluate("() => window.Remote.links.shell.viewOnly") is True
        await type_line(viewer, f"touch {leaked}")  # typed into the view-only window: the relay drops it
        await type_line(controller, f"touch {typed}; echo made-$((6*7))")
        await shows(controller, "made-42")
        await eventually(typed.exists, within=10, message="the controller's marker file on the endpoint")
        await type_line(controller, "echo second-$((2*3))")  # one more round trip after the view-only input
        await shows(viewer, "second-6")  # the view-only viewer does see the shell
        assert not leaked.exists(), "a view-only keystroke reached the PTY"
        assert f"touch {leaked}" not in await terminal_text(controller)
        await viewer.screenshot(path=ARTIFACTS / "remote-view-only.png")
        csp.check()
    finally:
        await context.close()


async def test_a_dropped_agent_connection_resumes_the_same_shell_in_the_open_tab(
    e2e_hub: E2EHub, live_server: LiveServer, start_agent: StartAgent, tmp_path: Path, browser: Any
) -> None:
    device_id = await started_agent(e2e_hub, start_agent, tmp_path)
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-open-shell-session", "auto")
    context, window, csp = await open_window(e2e_hub, browser, device_id, "#remote-open-shell")
    try:
        await window.wait_for_selector('#remote-status[data-state="connected"]', timeout=30_000)
        await type_line(window, "export MARK=same-shell-$((40+2))")
        await type_line(window, "echo ready-$((1+1))")
        await shows(window, "ready-2")
        relay = live_server.app.state.hub.components.get(RelayServer)
        (session,) = relay.sessions.values()
        assert session.agent is not None
        # The network drops: the agent's socket is reset (no close frame), on the hub's own loop thread.
        session.agent.loop.call_soon_threadsafe(session.agent.transport.abort)
        await window.wait_for_selector('#remote-status[data-state="reconnecting"]', timeout=15_000)
        await window.wait_for_selector('#remote-status[data-state="connected"]', timeout=30_000)
        await type_line(window, 'echo "$MARK-resumed"')
        await shows(window, "same-shell-42-resumed")  # the same PTY: the variable survived the drop
        assert await eventually(lambda: trail(e2e_hub, "agent-resumed"), within=15, message="agent-resumed event")
        assert not await trail(e2e_hub, "ended")
        csp.check()
    finally:
        await context.close()


async def test_an_approval_gated_shell_tab_connects_by_itself_once_approved(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, browser: Any
) -> None:
    device_id = await started_agent(e2e_hub, start_agent, tmp_path)
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-open-shell-session", "approval")
    context, window, csp = await open_window(e2e_hub, browser, device_id, "#remote-open-shell")
    approver = await browser.new_context(base_url=e2e_hub.url)
    try:
        waiting = window.locator('#remote-status[data-state="pending"]')
        await waiting.wait_for(timeout=15_000)
        approval_id = int(await waiting.get_attribute("data-approval") or "0")
        assert "connects by itself" in await waiting.inner_text()
        bob = await approver.new_page()
        await sign_in(bob, e2e_hub.tenancy.approver, "/policies?tab=approvals")
        await bob.locator(f"#approval-{approval_id}").get_by_role("button", name=f"Approve #{approval_id}").click()
        await window.wait_for_selector('#remote-status[data-state="connected"]', timeout=30_000)
        await type_line(window, "echo approved-$((6*7))")
        await shows(window, "approved-42")
        await window.screenshot(path=ARTIFACTS / "remote-approved-shell.png")
        await window.locator("#remote-end").click()
        await window.wait_for_selector('#remote-status[data-state="ended"]', timeout=15_000)
        csp.check()
    finally:
        await approver.close()
        await context.close()
