"""The Linux install command copied from Admin -> Agent installers, run for real against the real hub
(script from ``/install/<token>/linux``, wheel from ``/agent/v1/download/agent.whl``) into a temporary
prefix; the installed agent enrolls and checks in; the uninstall command, approved by another user,
removes everything the installer put down and the device shows as uninstalled.

No root and no network here: the copied command runs without ``sudo`` with the installer's
documented overrides (``RMMHUB_AGENT_PREFIX``, ``RMMHUB_AGENT_SYSTEMD_DIR``, offline pip arguments,
the agent's dependencies from the test environment, ``RMMHUB_AGENT_NO_START``); the unit is
checked with ``systemd-analyze verify`` and started the way systemd would start it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from native_rmm.models.devices import Device
from tests.e2e.conftest import (
    AgentProcess,
    E2EHub,
    StartAgent,
    agent_env,
    approve,
    finished_command,
    invoke,
    result_of,
    set_policy,
)
from tests.waiting import eventually

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux installer runs on Linux"),
    pytest.mark.slow,
]
INSTALL_TIMEOUT_SECONDS = 240


@dataclass
class Installed:
    prefix: Path
    unit: Path
    python: Path
    env: dict[str, str]
    output: str


async def _install_from_admin_page(hub: E2EHub, tmp_path: Path) -> Installed:
    admin = hub.client(hub.tenancy.admin)
    response = await admin.get("/api/v1/rmm/installers")
    assert response.status_code == 200, response.text
    (base,) = [i for i in response.json() if i["kind"] == "base"]
    command = base["commands"]["linux"]
    assert command == f"curl -fsSL {hub.url}/install/{hub.base_token}/linux | sudo bash"
    prefix, systemd_dir = tmp_path / "opt" / "rmmhub-agent", tmp_path / "systemd"
    env = {
        **os.environ,
        "RMMHUB_AGENT_PREFIX": str(prefix),
        "RMMHUB_AGENT_SYSTEMD_DIR": str(systemd_dir),
        "RMMHUB_AGENT_PYTHON": sys.executable,
        "RMMHUB_AGENT_NO_START": "1",
        "RMMHUB_AGENT_FORCE_VENV": "1",  # the Python route (the single-file one: test_e2e_binary_agent.py)
        "RMMHUB_AGENT_PIP_ARGS": "--no-deps --no-index",
        # The agent's dependencies (psutil, httpx, websockets) come from the test environment.
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        f"set -o pipefail; {command.replace('| sudo bash', '| bash')}",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        output = (await asyncio.wait_for(proc.communicate(), INSTALL_TIMEOUT_SECONDS))[0].decode(errors="replace")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, output
    return Installed(prefix, systemd_dir / "rmmhub-agent.service", prefix / "venv" / "bin" / "python", env, output)


def _verify_unit(unit: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package: systemd): the unit could not be verified")
    completed = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr


async def _run_as_the_unit_would(installed: Installed, start_agent: StartAgent) -> AgentProcess:
    """``ExecStart`` of the unit, in its ``WorkingDirectory``, with 1 s check-ins for the test."""
    env = agent_env(PYTHONPATH=installed.env["PYTHONPATH"])
    return await start_agent(
        "run",
        "--state-dir",
        str(installed.prefix / "state"),
        program=str(installed.python),
        env=env,
        cwd=installed.prefix,
    )


async def _checked_in(hub: E2EHub) -> Device:
    async def check() -> Device | None:
        device = await hub.device()
        ok = device is not None and device.ws_connected and device.inventory_at and device.last_metrics_at
        return device if ok else None

    result: Device = await eventually(check, within=30, message="the installed agent's check-in")
    return result


async def test_install_command_from_admin_page_installs_enrolls_and_checks_in(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    installed = await _install_from_admin_page(e2e_hub, tmp_path)
    python = installed.python
    assert "downloading the agent from " + e2e_hub.url in installed.output
    site = list((installed.prefix / "venv").glob("lib/python3*/site-packages/agent/protocol.py"))
    assert site, "the wheel served by the hub is installed in the agent's own virtualenv"
    where = subprocess.run(
        [str(python), "-c", "import agent; print(agent.__file__)"],
        env=installed.env,
        cwd=installed.prefix,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert where.stdout.startswith(str(installed.prefix / "venv")), where.stdout
    assert stat.S_IMODE((installed.prefix / "state" / "credential").stat().st_mode) == 0o600
    unit = installed.unit.read_text()
    assert f"ExecStart={python} -m agent run --state-dir {installed.prefix}/state" in unit
    assert "Restart=on-failure" in unit and "WantedBy=multi-user.target" in unit
    _verify_unit(installed.unit)

    # Enrollment happened during the install: the device exists before the service ever starts.
    enrolled = await e2e_hub.device()
    assert enrolled is not None and enrolled.installer_id is not None and not enrolled.ws_connected

    await _run_as_the_unit_would(installed, start_agent)
    device = await _checked_in(e2e_hub)
    assert device.id == enrolled.id and device.ip_addresses and device.os_family is not None
    viewer = e2e_hub.client(e2e_hub.tenancy.viewer)
    detail: dict[str, Any] = await result_of(viewer, "rmm-get-device", {"device": device.id})
    assert detail["status"] == "online" and detail["agent_version"]


async def test_uninstall_command_removes_what_the_installer_put_down(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    installed = await _install_from_admin_page(e2e_hub, tmp_path)
    agent = await _run_as_the_unit_would(installed, start_agent)
    device = await _checked_in(e2e_hub)
    t = e2e_hub.tenancy
    admin, operator = e2e_hub.client(t.admin), e2e_hub.client(t.operator)

    # The classifier seeds `never` for uninstall; an admin opens it up to `approval`.
    refused = await operator.post("/api/v1/tools/rmm-uninstall-agent/invoke", json={"args": {"device": device.id}})
    assert refused.status_code == 403 and refused.json()["status"] == "refused"
    await set_policy(admin, "rmm-uninstall-agent", "approval")
    outcome = await invoke(operator, "rmm-uninstall-agent", {"device": device.id}, reason="e2e: decommission")
    assert outcome["status"] == "pending_approval", outcome
    approval = await approve(e2e_hub.client(t.approver2), outcome["approval_id"])
    command_id = approval["result"]["id"]

    assert await agent.wait(within=30) == 0, agent.log()
    assert not installed.prefix.exists(), sorted(p.name for p in installed.prefix.rglob("*"))[:20]
    assert not installed.unit.exists()
    done = await finished_command(operator, command_id, within=10)
    assert done["status"] == "succeeded", done

    async def uninstalled() -> dict[str, Any] | None:
        detail: dict[str, Any] = await result_of(operator, "rmm-get-device", {"device": device.id})
        return detail if detail["status"] == "uninstalled" else None

    detail = await eventually(uninstalled, within=10, message="the device shown as uninstalled")
    assert detail["uninstall_reason"] == "uninstalled" and detail["uninstalled_at"]
    assert (await result_of(operator, "rmm-list-devices", {}))["devices"] == []
    listed = await result_of(operator, "rmm-list-devices", {"include_uninstalled": True})
    assert [d["status"] for d in listed["devices"]] == ["uninstalled"]
