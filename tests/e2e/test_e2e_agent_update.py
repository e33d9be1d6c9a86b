"""Self-update of the single-file agent, for real: the installed binary (version N) is updated by the
``rmm-update-agents`` tool to N+1 served by the hub; a broken N+1 that never checks in is rolled back
to N by the watchdog; a tampered release is refused.

N is the binary the set-up builds from this source; N+1 is the same source with the version bumped
(built once, cached by its source hash like N). The broken N+1 is a correctly signed executable that
starts and never checks in.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from native_rmm.installers.binary import AgentBinary, build_binary
from native_rmm.installers.wheel import AGENT_SOURCE
from native_rmm.plane import DevicePlane
from native_rmm.settings import RmmSettings
from native_rmm.updates.releases import publish
from tests.agent.agent_fakes import AgentProcess
from tests.conftest import LiveServer
from tests.e2e.conftest import E2EHub, eventually, finished_command, result_of, set_policy
from tests.e2e.test_e2e_binary_agent import _python_free_path, _run, _start_binary, agent_binary
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the single-file agent is built on Linux"),
    pytest.mark.slow,
]
__all__ = ["agent_binary"]  # the session fixture, shared with the install test
CONFIRM_SECONDS = 45  # a 34 MB single-file agent unpacks in seconds on a loaded 2-core machine


@pytest.fixture(scope="session")
def next_binary() -> Iterator[AgentBinary]:
    """N+1: this agent's source with ``__version__`` 0.1.1 (cached by its source hash)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "agent"
        shutil.copytree(
            AGENT_SOURCE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
        )
        init = source / "__init__.py"
        init.write_text(init.read_text().replace('__version__ = "0.1.0"', '__version__ = "0.1.1"'))
        assert '"0.1.1"' in init.read_text()
        built, _ = build_binary(RmmSettings().agent_dist_dir, source=source)
        yield built


@dataclass
class Installed:
    exe: Path
    state: Path
    agent: AgentProcess
    device_id: int
    dist: Path


@pytest.fixture
async def installed(
    e2e_hub: E2EHub, live_server: LiveServer, agent_binary: AgentBinary, tmp_path: Path
) -> AsyncIterator[Installed]:
    """The binary installed by the Linux one-liner and running (its own release folder on the hub)."""
    plane: DevicePlane = live_server.app.state.hub.components.get(DevicePlane)
    dist = tmp_path / "dist"
    (dist / f"linux-{agent_binary.arch}").mkdir(parents=True)
    (dist / f"linux-{agent_binary.arch}" / agent_binary.path.parent.name).symlink_to(agent_binary.path.parent.resolve())
    original = plane.settings
    plane.settings = original.model_copy(
        update={"agent_dist_dir": dist, "agent_update_confirm_seconds": CONFIRM_SECONDS}
    )
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    (base,) = [i for i in (await admin.get("/api/v1/rmm/installers")).json() if i["kind"] == "base"]
    prefix = tmp_path / "opt" / "rmmhub-agent"
    env = {
        "HOME": str(tmp_path),
        "PATH": _python_free_path(tmp_path / "bin"),
        "RMMHUB_AGENT_PREFIX": str(prefix),
        "RMMHUB_AGENT_SYSTEMD_DIR": str(tmp_path / "sd"),
        "RMMHUB_AGENT_NO_START": "1",
    }
    code, output = await _run(base["commands"]["linux"].replace("| sudo bash", "| bash"), env)
    assert code == 0, output
    exe, state = prefix / "bin" / "rmmhub-agent", prefix / "state"
    agent = await _start_binary(exe, state, tmp_path / "agent.log")
    try:
        device = await e2e_hub.connected_device(within=60)
        await eventually(lambda: _version(e2e_hub, device.id, "0.1.0"), within=30, message="version N reported")
        await set_policy(admin, "rmm-update-agents", "auto")
        yield Installed(exe, state, agent, device.id, dist)
    finally:
        plane.settings = original
        _kill_restarted(state, agent)
        await agent.stop()


def _kill_restarted(state: Path, agent: AgentProcess) -> None:
    """Stop, and wait for, every agent process of this install other than the one the test started.

    An update or a rollback restarts the agent as a new process (its pid in the state folder; a
    single-file agent is a bootloader and its child); none may outlive the test. They are found by
    their ``--state-dir``, which is this test's own folder; processes that end meanwhile are skipped.
    """
    ours = {agent.proc.pid}
    found: list[psutil.Process] = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.pid not in ours and str(state) in proc.cmdline():
                found.append(proc)
    for proc in found:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    try:
        wait_until(lambda: all(_exited(proc) for proc in found), within=10, message="the agents to stop")
    except AssertionError:
        for proc in found:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        wait_until(lambda: all(_exited(proc) for proc in found), within=10, message=f"agents of {state} to die")


def _exited(proc: psutil.Process) -> bool:
    """Gone, or a zombie: its parent (the agent the test still runs) is stopped next and reaps it."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def _version(hub: E2EHub, device_id: int, version: str) -> bool:
    device = await hub.device(device_id)
    return device is not None and device.agent_version == version


def _pending(state: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads((state / "update.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _update(hub: E2EHub, device_id: int) -> dict[str, Any]:
    operator = hub.client(hub.tenancy.operator)
    out = await result_of(operator, "rmm-update-agents", {"device": device_id})
    assert [q["device_id"] for q in out["queued"]] == [device_id], out
    return await finished_command(operator, out["queued"][0]["command_id"], within=60)


async def test_update_from_n_to_n_plus_1(e2e_hub: E2EHub, installed: Installed, next_binary: AgentBinary) -> None:
    viewer = e2e_hub.client(e2e_hub.tenancy.viewer)
    listed = await result_of(viewer, "rmm-list-devices", {})
    assert [d["agent_outdated"] for d in listed["devices"]] == [False]
    publish(installed.dist, next_binary.path, "0.1.1")
    listed = await result_of(viewer, "rmm-list-devices", {})
    assert [(d["agent_version"], d["agent_outdated"]) for d in listed["devices"]] == [("0.1.0", True)]

    done = await _update(e2e_hub, installed.device_id)
    assert done["status"] == "succeeded" and "updating from 0.1.0 to 0.1.1" in done["stdout"], done
    await eventually(lambda: _version(e2e_hub, installed.device_id, "0.1.1"), within=60, message="N+1 checks in")
    assert _sha(installed.exe) == next_binary.sha256
    await eventually(
        lambda: asyncio.sleep(0, _pending(installed.state).get("state") == "confirmed"),
        within=30,
        message="the update confirmed",
    )
    prev = installed.exe.with_name("rmmhub-agent.prev")
    await eventually(lambda: asyncio.sleep(0, not prev.exists()), within=30, message="the watchdog done")
    assert installed.agent.proc.returncode is None  # same process, re-executed as N+1
    again = await result_of(
        e2e_hub.client(e2e_hub.tenancy.operator), "rmm-update-agents", {"device": installed.device_id}
    )
    assert again["queued"] == [] and again["skipped"][0]["reason"] == "already at 0.1.1"


async def test_broken_n_plus_1_is_rolled_back(e2e_hub: E2EHub, installed: Installed, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\n# starts, never checks in\nexec sleep 600\n")
    publish(installed.dist, broken, "0.1.2")
    n_sha = _sha(installed.exe)
    first_pid = int((installed.state / "agent.pid").read_text())

    done = await _update(e2e_hub, installed.device_id)
    assert done["status"] == "succeeded" and "updating from 0.1.0 to 0.1.2" in done["stdout"], done

    async def rolled_back() -> bool:
        return _pending(installed.state).get("state") == "rolled_back"

    await eventually(rolled_back, within=CONFIRM_SECONDS + 40, message="the rollback")
    assert _sha(installed.exe) == n_sha
    assert await installed.agent.wait(within=30) is not None  # the silent N+1 process was stopped

    async def back_online() -> bool:
        pid = (installed.state / "agent.pid").read_text().strip()
        device = await e2e_hub.device(installed.device_id)
        return pid != str(first_pid) and device is not None and device.ws_connected and device.agent_version == "0.1.0"

    await eventually(back_online, within=60, message="N restarted and checking in again")
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-run-command", "auto")
    queued = await result_of(
        e2e_hub.client(e2e_hub.tenancy.operator),
        "rmm-run-command",
        {"device": installed.device_id, "command": "echo still-n"},
    )
    ran = await finished_command(e2e_hub.client(e2e_hub.tenancy.operator), queued["id"], within=30)
    assert ran["stdout"] == "still-n\n", ran


async def test_tampered_release_is_refused(e2e_hub: E2EHub, installed: Installed, next_binary: AgentBinary) -> None:
    release = publish(installed.dist, next_binary.path, "0.1.1")
    data = bytearray(release.path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different bytes: what a compromised disk or mirror serves
    release.path.write_bytes(bytes(data))
    n_sha = _sha(installed.exe)

    done = await _update(e2e_hub, installed.device_id)
    assert done["status"] == "failed" and "SHA-256 mismatch" in done["stderr"], done
    assert _sha(installed.exe) == n_sha and not installed.exe.with_name("rmmhub-agent.prev").exists()
    assert installed.agent.proc.returncode is None
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-run-command", "auto")
    operator = e2e_hub.client(e2e_hub.tenancy.operator)
    queued = await result_of(operator, "rmm-run-command", {"device": installed.device_id, "command": "echo still-n"})
    assert (await finished_command(operator, queued["id"], within=30))["stdout"] == "still-n\n"
