"""Quick-support against the real hub: the one-shot installer variant (served for a quick-support
installer) runs the agent in the foreground from a temporary folder, shows the support code, the
device list flags the session, and ``rmm-end-quick-support`` ends it: the hub shows it ended and
the temporary folder is gone. A session also ends by itself when the installer's expiry passes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import sysconfig
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.core.audit import Actor
from hub.core.db import utcnow
from native_rmm.devices.service import create_device
from tests.agent.agent_fakes import agent_env
from tests.e2e.conftest import E2EHub, StartAgent, finished_command, invoke, result_of
from tests.waiting import eventually

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
    pytest.mark.slow,
]
E2E_ACTOR = Actor(user_id=None, label="e2e", via="test")


async def _quick_installer(hub: E2EHub, **extra: Any) -> dict[str, Any]:
    admin = hub.client(hub.tenancy.admin)
    response = await admin.post("/api/v1/rmm/installers", json={"name": "Call 4711", "quick_support": True, **extra})
    assert response.status_code == 201, response.text
    installer: dict[str, Any] = response.json()
    assert installer["quick_support"] is True
    return installer


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) (util-linux) for a terminal")
async def test_one_shot_session_shows_code_and_is_removed_when_ended(e2e_hub: E2EHub, tmp_path: Path) -> None:
    installer = await _quick_installer(e2e_hub)
    command = installer["commands"]["linux"]
    script = await e2e_hub.client().get(f"/install/{installer['token']}/linux")
    assert script.status_code == 200 and "QUICK_SUPPORT=1\n" in script.text

    temp = tmp_path / "tmp"
    temp.mkdir()
    log_path = tmp_path / "session.log"
    env = agent_env(
        TMPDIR=str(temp),  # the one-shot variant installs into `mktemp -d`: here, under our eyes
        RMMHUB_AGENT_FORCE_VENV="1",  # the Python route (the single-file one: test_e2e_binary_agent.py)
        RMMHUB_AGENT_PYTHON=sys.executable,
        RMMHUB_AGENT_PIP_ARGS="--no-deps --no-index",
        PYTHONPATH=sysconfig.get_paths()["purelib"],
    )
    # The end user's terminal: script(1) gives the session the /dev/tty the installer reads from.
    shell_command = f"set -o pipefail; {command.replace('| sudo bash', '| bash')}"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            "script",
            "-qefc",
            f"bash -c {_quote(shell_command)}",
            "/dev/null",
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        device = await e2e_hub.connected_device(within=90)
        assert device.quick_support and device.support_code
        session_dirs = [p for p in temp.iterdir() if p.is_dir()]
        assert len(session_dirs) == 1 and (session_dirs[0] / "venv").exists()
        await eventually(
            lambda: _shows(log_path, f"Your support code: {device.support_code}"), within=10, message="the code"
        )

        operator = e2e_hub.client(e2e_hub.tenancy.operator)
        listed = await result_of(operator, "rmm-list-devices", {})
        assert [(d["quick_support"], d["support_code"]) for d in listed["devices"]] == [(True, device.support_code)]

        outcome = await invoke(operator, "rmm-end-quick-support", {"device": device.id})
        assert outcome["status"] == "done", outcome  # seeded auto: ending a temporary session is routine
        assert await asyncio.wait_for(proc.wait(), 30) == 0, log_path.read_text(errors="replace")
        assert not any(temp.iterdir()), "the temporary folder of the session is removed"
        done = await finished_command(operator, outcome["result"]["id"], within=10)
        assert done["status"] == "succeeded", done
        detail = await result_of(operator, "rmm-get-device", {"device": device.id})
        assert detail["status"] == "uninstalled" and detail["uninstall_reason"] == "quick_support_ended"
        again = await operator.post("/api/v1/tools/rmm-end-quick-support/invoke", json={"args": {"device": device.id}})
        assert again.status_code == 400 and "already ended" in again.json()["message"]
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


async def test_session_ends_itself_at_expiry(e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path) -> None:
    expires = utcnow() + timedelta(seconds=6)
    installer = await _quick_installer(e2e_hub, expires_at=expires.isoformat())
    state_dir = tmp_path / "qs"
    agent = await start_agent(
        "run",
        "--foreground",
        "--quick-support",
        "--hub",
        e2e_hub.url,
        "--state-dir",
        str(state_dir),
        env=agent_env(RMMHUB_AGENT_TOKEN=installer["token"]),
    )
    device = await e2e_hub.connected_device()
    assert device.quick_support and device.session_expires_at is not None
    assert abs((device.session_expires_at - expires).total_seconds()) < 1

    # While the session runs out: a device that is not a quick-support session is refused clearly.
    async with e2e_hub.db.transaction() as session:
        other, _ = await create_device(session, org_id=e2e_hub.tenancy.org_id, hostname="LON-DC-01", actor=E2E_ACTOR)
    operator = e2e_hub.client(e2e_hub.tenancy.operator)
    refused = await operator.post("/api/v1/tools/rmm-end-quick-support/invoke", json={"args": {"device": other.id}})
    assert refused.status_code == 400 and "not a quick-support session" in refused.json()["message"]

    assert await agent.wait(within=30) == 0, agent.log()
    assert f"Your support code: {device.support_code}" in agent.log()
    assert not state_dir.exists()
    detail = await result_of(operator, "rmm-get-device", {"device": device.id})
    assert detail["status"] == "uninstalled" and detail["uninstall_reason"] == "quick_support_expired"


async def _shows(path: Path, text: str) -> bool:
    return text in await asyncio.to_thread(path.read_text, errors="replace")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
