"""The agent as a real process against a protocol-level fake hub on loopback.

End-to-end tests against the real hub (native_rmm) live with the hub; these pin down the agent's
own behaviour: enrollment, check-in content, push latency, script parameters, output cap, hub
restart without losing a result, uninstall and quick-support.
"""

from __future__ import annotations

import stat
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from agent_fakes import AgentProcess, FakeHub, StartAgent

from agent import protocol as p
from tests.waiting import eventually

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells"), pytest.mark.slow]


def _command(cid: str, body: str, *, kind: str = "shell", shell: str | None = "sh", **extra: object) -> p.CommandSpec:
    return p.CommandSpec.model_validate(
        {"id": cid, "kind": kind, "shell": shell, "body": body, "issued_at": datetime.now(UTC), **extra}
    )


async def _enrolled(hub: FakeHub, start_agent: StartAgent, state_dir: Path, *extra: str) -> tuple[AgentProcess, str]:
    agent = await start_agent(
        "run", "--state-dir", str(state_dir), "--hub", hub.url, "--token", hub.state.token, *extra
    )
    await eventually(lambda: "dev-1" in hub.sockets, message="the agent's push channel")
    return agent, "dev-1"


async def test_enroll_checkin_push_and_results(fake_hub: FakeHub, start_agent: StartAgent, tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    await _enrolled(fake_hub, start_agent, state_dir)
    # Enrollment persisted a 0600 credential.
    assert stat.S_IMODE((state_dir / "credential").stat().st_mode) == 0o600
    enroll = fake_hub.state.enrollments[0]
    assert enroll.os_family is p.OsFamily.LINUX and enroll.protocol_version == p.PROTOCOL_VERSION

    # First check-in: metrics, full inventory, the application list.
    await eventually(lambda: fake_hub.state.checkins, message="a check-in")
    first = fake_hub.state.checkins[0]
    assert first.inventory is not None and first.inventory.hostname and first.inventory.hardware
    assert first.metrics.memory_total_bytes > 0 and first.metrics.disks
    assert first.applications is not None and len(first.applications) > 10
    # Later check-ins send neither unchanged inventory fields nor the unchanged app list.
    await eventually(lambda: len(fake_hub.state.checkins) >= 3, message="three check-ins")
    assert fake_hub.state.checkins[2].applications is None
    assert fake_hub.state.checkins[2].applications_hash == first.applications_hash

    # A pushed command reaches the agent and its output comes back well under a second.
    started = time.monotonic()
    assert await fake_hub.push("dev-1", _command("c-push", "echo pushed"))
    await eventually(lambda: "c-push" in fake_hub.state.results, within=5, message="the pushed result")
    assert time.monotonic() - started < 1.0
    assert fake_hub.state.results["c-push"].stdout == "pushed\n"
    assert any(s.command_id == "c-push" for s in fake_hub.state.statuses)

    # A script with parameters.
    env = p.script_param_env({"name": "world", "target-dir": "/tmp"})
    body = 'echo "hello $name in $RMM_PARAM_TARGET_DIR"\n'
    await fake_hub.push("dev-1", _command("c-script", body, kind="script", env=env))
    await eventually(lambda: "c-script" in fake_hub.state.results, message="the script result")
    assert fake_hub.state.results["c-script"].stdout == "hello world in /tmp\n"

    # 5 MiB of output is capped at 1 MiB with the flag set.
    await fake_hub.push("dev-1", _command("c-big", "head -c 5242880 /dev/zero | tr '\\0' x"))
    await eventually(lambda: "c-big" in fake_hub.state.results, message="the big result")
    big = fake_hub.state.results["c-big"]
    assert big.truncated and len(big.stdout) == p.MAX_OUTPUT_BYTES


async def test_checkin_delivers_queued_commands_without_websocket(
    fake_hub: FakeHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    await _enrolled(fake_hub, start_agent, tmp_path / "state")
    fake_hub.sockets.clear()  # the hub "forgets" the socket: delivery must fall back to check-in
    await fake_hub.push("dev-1", _command("c-poll", "echo polled"))
    await eventually(lambda: "c-poll" in fake_hub.state.results, message="the polled result")
    assert fake_hub.state.results["c-poll"].stdout == "polled\n"


async def test_hub_restart_mid_command_loses_no_result(
    fake_hub: FakeHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    await _enrolled(fake_hub, start_agent, tmp_path / "state")
    await fake_hub.push("dev-1", _command("c-slow", "sleep 2; echo survived"))
    await eventually(lambda: fake_hub.state.statuses, message="the command running")
    await fake_hub.stop()
    # The command finishes while the hub is down: its result is spooled.
    await eventually(lambda: list((tmp_path / "state" / "spool").glob("*.json")), within=15, message="a spooled result")
    restarted = FakeHub(fake_hub.state, port=fake_hub.port)
    await restarted.start()
    try:
        await eventually(lambda: "c-slow" in restarted.state.results, message="the spooled result")
        assert restarted.state.results["c-slow"].stdout == "survived\n"
        await eventually(lambda: not list((tmp_path / "state" / "spool").glob("*.json")), message="an empty spool")
    finally:
        await restarted.stop()


async def test_agent_restart_reports_interrupted_command(
    fake_hub: FakeHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent, _ = await _enrolled(fake_hub, start_agent, tmp_path / "state")
    await fake_hub.push("dev-1", _command("c-int", "sleep 30"))
    await eventually(lambda: fake_hub.state.statuses, message="the command running")
    await agent.stop()
    fake_hub.state.queued.clear()
    await start_agent("run", "--state-dir", str(tmp_path / "state"))
    await eventually(lambda: "c-int" in fake_hub.state.results, message="the interrupted result")
    assert fake_hub.state.results["c-int"].status is p.CommandStatus.CANCELLED


async def test_uninstall_removes_state_and_deregisters(
    fake_hub: FakeHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    agent, _ = await _enrolled(fake_hub, start_agent, state_dir)
    await fake_hub.push("dev-1", _command("c-un", "", kind="uninstall_agent", shell=None))
    assert await agent.wait() == 0
    assert fake_hub.state.results["c-un"].status is p.CommandStatus.SUCCEEDED
    assert fake_hub.state.deregistered == [("dev-1", p.DeregisterReason.UNINSTALLED)]
    assert not state_dir.exists()


async def test_quick_support_shows_code_and_cleans_up_on_expiry(
    fake_hub: FakeHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    fake_hub.state.quick_support_ttl = timedelta(seconds=3)
    state_dir = tmp_path / "qs"
    agent, _ = await _enrolled(fake_hub, start_agent, state_dir, "--quick-support", "--foreground")
    assert fake_hub.state.enrollments[0].quick_support
    assert await agent.wait() == 0
    assert "Your support code: 123-456" in agent.log()
    assert fake_hub.state.deregistered == [("dev-1", p.DeregisterReason.QUICK_SUPPORT_EXPIRED)]
    assert not state_dir.exists()


async def test_revoked_credential_exits_3(fake_hub: FakeHub, start_agent: StartAgent, tmp_path: Path) -> None:
    agent, _ = await _enrolled(fake_hub, start_agent, tmp_path / "state")
    fake_hub.state.credentials.clear()
    assert await agent.wait() == 3


async def test_quick_support_ends_on_ctrl_c_or_end_session(
    fake_hub: FakeHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    first, _ = await _enrolled(fake_hub, start_agent, tmp_path / "qs1", "--quick-support")
    first.proc.terminate()  # what Ctrl+C / closing the window does
    assert await first.wait() == 0
    assert fake_hub.state.deregistered == [("dev-1", p.DeregisterReason.QUICK_SUPPORT_ENDED)]
    assert not (tmp_path / "qs1").exists()

    second = await start_agent(
        "run",
        "--state-dir",
        str(tmp_path / "qs2"),
        "--hub",
        fake_hub.url,
        "--token",
        fake_hub.state.token,
        "--quick-support",
    )
    await eventually(lambda: "dev-2" in fake_hub.sockets, message="the second session's push channel")
    await fake_hub.push("dev-2", _command("c-end", "", kind="end_session", shell=None))
    assert await second.wait() == 0
    assert fake_hub.state.results["c-end"].status is p.CommandStatus.SUCCEEDED
    assert fake_hub.state.deregistered[-1] == ("dev-2", p.DeregisterReason.QUICK_SUPPORT_ENDED)
    assert not (tmp_path / "qs2").exists()
