"""The Linux one-liner from Admin -> Agent installers installs the single-file agent (PyInstaller) with
no Python, pip or venv step: run for real against the real hub, with a PATH that holds no Python at
all; the binary enrols, checks in, runs a command, and uninstalls cleanly.

The binary is the one the set-up builds (``rmmhub agent stage``, cached by agent source hash); when
the cache is cold this builds it (minutes on 2 cores, once per agent source).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from native_rmm.installers.binary import AgentBinary, build_binary
from native_rmm.settings import RmmSettings
from tests.agent.agent_fakes import AgentProcess
from tests.e2e.conftest import E2EHub, approve, eventually, finished_command, invoke, result_of, set_policy

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the single-file agent is built on Linux"),
    pytest.mark.slow,
]
# What the installer needs from the machine: a shell and coreutils, no Python.
INSTALL_TOOLS = ("bash", "curl", "sha256sum", "cut", "mkdir", "chmod", "mv", "rm", "uname", "mktemp", "id", "cat")


@pytest.fixture(scope="session")
def agent_binary() -> AgentBinary:
    built, _ = build_binary(RmmSettings().agent_dist_dir)
    return built


def _python_free_path(where: Path, *, skip: tuple[str, ...] = ()) -> str:
    where.mkdir()
    for tool in set(INSTALL_TOOLS) - set(skip):
        found = shutil.which(tool)
        assert found is not None, f"{tool} is needed by the installer"
        (where / tool).symlink_to(found)
    return str(where)


async def _run(command: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "/bin/bash",
        "-c",
        f"set -o pipefail; {command}",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        out = (await asyncio.wait_for(proc.communicate(), 120))[0].decode(errors="replace")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out


async def _start_binary(exe: Path, state: Path, log_path: Path) -> AgentProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))} | {
        "RMMHUB_AGENT_CHECKIN_INTERVAL": "1",
        "RMMHUB_AGENT_RECONNECT_MAX": "0.5",
    }
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            str(exe),
            "run",
            "--state-dir",
            str(state),
            cwd=state.parent,
            env=env,
            stdout=log,
            stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
        )
    return AgentProcess(proc, log_path)


async def test_linux_one_liner_installs_the_single_file_agent_without_python(
    e2e_hub: E2EHub, agent_binary: AgentBinary, tmp_path: Path
) -> None:
    t = e2e_hub.tenancy
    admin, operator = e2e_hub.client(t.admin), e2e_hub.client(t.operator)
    (base,) = [i for i in (await admin.get("/api/v1/rmm/installers")).json() if i["kind"] == "base"]
    command = base["commands"]["linux"]
    assert command.endswith("| sudo bash")
    prefix, systemd_dir = tmp_path / "opt" / "rmmhub-agent", tmp_path / "systemd"
    env = {
        "HOME": str(tmp_path),
        "PATH": _python_free_path(tmp_path / "bin"),
        "RMMHUB_AGENT_PREFIX": str(prefix),
        "RMMHUB_AGENT_SYSTEMD_DIR": str(systemd_dir),
        "RMMHUB_AGENT_NO_START": "1",
    }
    code, output = await _run(command.replace("| sudo bash", "| bash"), env)
    assert code == 0, output
    assert f"downloading the single-file agent for {agent_binary.arch} from {e2e_hub.url}" in output
    assert "virtualenv" not in output and not (prefix / "venv").exists()
    exe = prefix / "bin" / "rmmhub-agent"
    assert hashlib.sha256(exe.read_bytes()).hexdigest() == agent_binary.sha256
    unit = (systemd_dir / "rmmhub-agent.service").read_text()
    assert f"ExecStart={exe} run --state-dir {prefix}/state" in unit

    enrolled = await e2e_hub.device()
    assert enrolled is not None and enrolled.installer_id is not None
    agent = await _start_binary(exe, prefix / "state", tmp_path / "agent.log")
    try:

        async def checked_in() -> Any:
            device = await e2e_hub.device()
            return device if device is not None and device.ws_connected and device.last_metrics_at else None

        device = await eventually(checked_in, within=60, message="the binary agent's check-in")
        assert device.id == enrolled.id
        await set_policy(admin, "rmm-run-command", "auto")
        queued = await result_of(operator, "rmm-run-command", {"device": device.id, "command": "echo from-binary"})
        done = await finished_command(operator, queued["id"], within=30)
        assert done["status"] == "succeeded" and done["stdout"] == "from-binary\n", done

        await set_policy(admin, "rmm-uninstall-agent", "approval")
        outcome = await invoke(operator, "rmm-uninstall-agent", {"device": device.id}, reason="e2e: binary")
        approved = await approve(e2e_hub.client(t.approver2), outcome["approval_id"])
        assert await agent.wait(within=60) == 0, agent.log()
        assert not prefix.exists() and not (systemd_dir / "rmmhub-agent.service").exists()
        gone = await finished_command(operator, approved["result"]["id"], within=10)
        assert gone["status"] == "succeeded", gone
    finally:
        await agent.stop()


async def test_linux_one_liner_says_it_falls_back_when_no_binary_for_the_arch(e2e_hub: E2EHub, tmp_path: Path) -> None:
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    (base,) = [i for i in (await admin.get("/api/v1/rmm/installers")).json() if i["kind"] == "base"]
    script = (await e2e_hub.client().get(base["url"] + "/linux")).text
    # Another architecture than the one the hub built for (uname reports it), and no Python here.
    path = _python_free_path(tmp_path / "bin", skip=("uname",))
    (tmp_path / "bin" / "uname").write_text("#!/bin/sh\necho riscv64\n")
    (tmp_path / "bin" / "uname").chmod(0o755)
    env = {
        "HOME": str(tmp_path),
        "PATH": path,
        "RMMHUB_AGENT_PREFIX": str(tmp_path / "p"),
        "RMMHUB_AGENT_SYSTEMD_DIR": str(tmp_path / "sd"),
    }
    (tmp_path / "install.sh").write_text(script)
    code, output = await _run(f"bash {tmp_path / 'install.sh'}", env)
    assert "no single-file agent for riscv64 on this hub: falling back to a Python virtualenv" in output
    assert "no uv for linux-riscv64 on this hub either" in output
    assert code != 0 and "Python 3.11+ with venv is required" in output


async def test_linux_uv_route_installs_from_the_hub_served_uv(e2e_hub: E2EHub, tmp_path: Path) -> None:
    """The Windows/macOS route (uv from the hub -> venv -> agent wheel from the hub), run on Linux.

    No internet here, so uv is pointed at this machine's interpreter (``RMMHUB_AGENT_PYTHON``) instead
    of downloading CPython; the download itself (``uv python install`` from the mirror) is not run.
    """
    from native_rmm.installers.uv import stage_uv, staged_uv

    dist = RmmSettings().agent_dist_dir
    staged = staged_uv(dist, "linux-x86_64") or stage_uv(dist, ["linux-x86_64"])[0]
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    (base,) = [i for i in (await admin.get("/api/v1/rmm/installers")).json() if i["kind"] == "base"]
    prefix = tmp_path / "opt" / "rmmhub-agent"
    env = {
        **os.environ,
        "RMMHUB_AGENT_PREFIX": str(prefix),
        "RMMHUB_AGENT_SYSTEMD_DIR": str(tmp_path / "sd"),
        "RMMHUB_AGENT_NO_START": "1",
        "RMMHUB_AGENT_FORCE_VENV": "1",
        "RMMHUB_AGENT_PYTHON": sys.executable,
        "RMMHUB_AGENT_PIP_ARGS": "--no-deps --no-index",
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }
    code, output = await _run(base["commands"]["linux"].replace("| sudo bash", "| bash"), env)
    assert code == 0, output
    assert (
        "falling back to a Python virtualenv" in output
        and f"downloading uv for linux-x86_64 from {e2e_hub.url}" in output
    )
    assert hashlib.sha256((prefix / "bin" / "uv").read_bytes()).hexdigest() == staged.sha256
    assert list((prefix / "venv").glob("lib/python3*/site-packages/agent/protocol.py"))
    assert f"ExecStart={prefix}/venv/bin/python -m agent run" in (tmp_path / "sd" / "rmmhub-agent.service").read_text()
    device = await e2e_hub.device()
    assert device is not None and device.installer_id is not None
