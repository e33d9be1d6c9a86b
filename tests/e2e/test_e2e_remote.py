"""Remote sessions end to end: a real hub on loopback (its embedded relay), a real agent process,
the session tools through the policy gate, and a real PTY on the agent's side."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from native_rmm.models.remote import RemoteSession
from tests.e2e.conftest import (
    E2EHub,
    StartAgent,
    agent_env,
    approve,
    finished_command,
    invoke,
    result_of,
    set_policy,
)
from tests.relay.conftest import recv_control
from tests.relay.test_bridge import read_until
from tests.relay.test_consent import consent_messages
from tests.waiting import eventually

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
    pytest.mark.slow,
]


async def test_shell_session_through_the_gate_the_relay_and_a_real_agent(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    await start_agent(
        "run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token", e2e_hub.base_token
    )
    device = await e2e_hub.connected_device()
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    await set_policy(admin, "rmm-open-shell-session", "auto")
    opened = await result_of(e2e_hub.client(e2e_hub.tenancy.operator), "rmm-open-shell-session", {"device": device.id})
    assert opened["relay_url"].startswith("ws://127.0.0.1:")
    async with connect(f"{opened['relay_url']}/relay/v1?ticket={opened['ticket']}", compression=None) as browser:
        hello = await recv_control(browser, "hello")
        assert hello["role"] == "controller" and hello["kind"] == "shell"
        command = await finished_command(admin, opened["command_id"])
        assert command["status"] == "succeeded", command
        await browser.send(b"echo hel''lo-from-$((40+2))\r")
        await read_until(browser, b"hello-from-42")
        # The ticket was single use: replaying it is refused.
        async with connect(f"{opened['relay_url']}/relay/v1?ticket={opened['ticket']}", compression=None) as again:
            await asyncio.wait_for(again.wait_closed(), 10)
            assert again.close_code == 4401
        # An admin ends the session: the window's socket closes with the reason.
        await set_policy(admin, "rmm-end-remote-session", "auto")
        ended = await result_of(
            admin, "rmm-end-remote-session", {"session": opened["session"], "reason": "maintenance"}
        )
        assert ended["ended"] is True
        await asyncio.wait_for(browser.wait_closed(), 10)
        assert browser.close_code == 4410
        assert browser.close_reason is not None and browser.close_reason.endswith(": maintenance")
    again_end = await admin.post(
        "/api/v1/tools/rmm-end-remote-session/invoke", json={"args": {"session": opened["session"]}, "reason": ""}
    )
    assert again_end.status_code == 404, again_end.text
    assert "no live remote session" in again_end.text


async def test_approval_gated_screen_session_opens_once_approved(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    await start_agent(
        "run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token", e2e_hub.base_token
    )
    device = await e2e_hub.connected_device()
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    await set_policy(admin, "rmm-open-screen-session", "approval")
    outcome = await invoke(e2e_hub.client(e2e_hub.tenancy.operator), "rmm-open-screen-session", {"device": device.id})
    assert outcome["status"] == "pending_approval", outcome
    assert "ticket" not in str(outcome)
    approval = await approve(e2e_hub.client(e2e_hub.tenancy.approver), outcome["approval_id"])
    assert approval["status"] == "executed", approval
    result = approval["result"]
    assert result["kind"] == "screen" and result["ticket"]


@pytest.mark.parametrize("answer", ["deny", "accept"])
async def test_privacy_mode_through_the_hub(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, answer: str
) -> None:
    env = {k: v for k, v in agent_env(RMMHUB_AGENT_CONSENT_HEADLESS=answer).items() if k != "DISPLAY"}
    await start_agent(
        "run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token", e2e_hub.base_token, env=env
    )
    device = await e2e_hub.connected_device()
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    for tool in ("rmm-open-shell-session", "rmm-set-remote-consent"):
        await set_policy(admin, tool, "auto")
    await result_of(admin, "rmm-set-remote-consent", {"scope": "device", "scope_id": device.id, "required": True})
    opened = await result_of(e2e_hub.client(e2e_hub.tenancy.operator), "rmm-open-shell-session", {"device": device.id})
    async with connect(f"{opened['relay_url']}/relay/v1?ticket={opened['ticket']}", compression=None) as browser:
        if answer == "deny":
            # The agent may ask and hear "no" before this window connects: then the window is closed with the
            # reason at once, without the waiting message.
            async with asyncio.timeout(30):
                seen = await consent_messages(browser)
            await asyncio.wait_for(browser.wait_closed(), 20)
            assert browser.close_reason == "the end user declined the connection request"
            assert all(m["state"] == "waiting" for m in seen if m["type"] == "consent"), seen
        else:
            waiting = await recv_control(browser, "consent")
            assert waiting["state"] == "waiting" and e2e_hub.tenancy.operator.username in str(waiting["message"])
            assert (await recv_control(browser, "consent"))["state"] == "accepted"
            await browser.send(b"echo ok-$((40+2))\r")
            await read_until(browser, b"ok-42")
            await browser.close()

    async def consent_of() -> str | None:
        async with e2e_hub.db.sessionmaker() as session:
            row = await session.scalar(select(RemoteSession).where(RemoteSession.sid == opened["session"]))
        return row.consent if row is not None and row.consent else None

    assert await eventually(consent_of, within=20) == ("declined" if answer == "deny" else "given")
