"""Self-update of the virtualenv agent (the fallback route where the hub has no single-file agent for
the architecture), for real: the Linux one-liner against a hub with no binary installs the wheel
with the hub-served uv; ``rmm-update-agents`` updates it from N to N+1 (a signed wheel release); a
broken N+1 (installs, never checks in) is rolled back to N by the watchdog; a tampered wheel is
refused. N+1 is this agent's source with the version bumped, built with pip as the hub builds N.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from native_rmm.installers.wheel import AGENT_SOURCE
from native_rmm.plane import DevicePlane
from native_rmm.settings import RmmSettings
from native_rmm.updates.releases import WHEEL_PLATFORM, publish
from tests.agent.agent_fakes import AgentProcess
from tests.conftest import LiveServer
from tests.e2e.conftest import E2EHub, agent_env, eventually, finished_command, result_of, set_policy
from tests.e2e.test_e2e_agent_update import _kill_restarted, _pending, _update, _version

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the installer on Linux"),
              pytest.mark.slow]  # fmt: skip
CONFIRM_SECONDS = 30
PURELIB = sysconfig.get_paths()["purelib"]  # the agent's dependencies come from the test environment


def _build_wheel(version: str, *, broken: bool = False) -> Path:
    work = Path(tempfile.mkdtemp(prefix="rmmhub-venv-release-"))
    source = work / "agent"
    shutil.copytree(AGENT_SOURCE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist"))
    init = source / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "0.1.0"', f'__version__ = "{version}"'))
    assert f'"{version}"' in init.read_text()
    project = source / "pyproject.toml"
    project.write_text(project.read_text().replace('version = "0.1.0"', f'version = "{version}"'))
    if broken:  # starts, never checks in
        (source / "__main__.py").write_text("import time\n\ntime.sleep(600)\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w",
         str(work / "dist"), str(source)], check=True,
    )  # fmt: skip
    (wheel,) = (work / "dist").glob("rmmhub_agent-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheels() -> Iterator[dict[str, Path]]:
    built = {"next": _build_wheel("0.1.1"), "broken": _build_wheel("0.1.2", broken=True)}
    yield built
    for wheel in built.values():
        shutil.rmtree(wheel.parent.parent, ignore_errors=True)


@dataclass
class VenvAgent:
    prefix: Path
    state: Path
    site: Path
    agent: AgentProcess
    device_id: int
    dist: Path


async def _start(prefix: Path, log_path: Path) -> AgentProcess:
    env = agent_env(PYTHONPATH=PURELIB)
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            str(prefix / "venv" / "bin" / "python"), "-m", "agent", "run", "--state-dir", str(prefix / "state"),
            cwd=prefix, env=env, stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
    return AgentProcess(proc, log_path)


@pytest.fixture
async def venv_agent(e2e_hub: E2EHub, live_server: LiveServer, tmp_path: Path) -> AsyncIterator[VenvAgent]:
    """The one-liner against a hub that has uv but no single-file agent: the venv route, then running."""
    plane: DevicePlane = live_server.app.state.hub.components.get(DevicePlane)
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "uv").symlink_to((RmmSettings().agent_dist_dir / "uv").resolve())
    original = plane.settings
    plane.settings = original.model_copy(
        update={"agent_dist_dir": dist, "agent_update_confirm_seconds": CONFIRM_SECONDS}
    )
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    (base,) = [i for i in (await admin.get("/api/v1/rmm/installers")).json() if i["kind"] == "base"]
    prefix = tmp_path / "opt" / "rmmhub-agent"
    env = {**os.environ, "RMMHUB_AGENT_PREFIX": str(prefix), "RMMHUB_AGENT_SYSTEMD_DIR": str(tmp_path / "sd"),
           "RMMHUB_AGENT_PYTHON": sys.executable, "RMMHUB_AGENT_NO_START": "1",
           "RMMHUB_AGENT_PIP_ARGS": "--no-deps --no-index", "PYTHONPATH": PURELIB}  # fmt: skip
    command = base["commands"]["linux"].replace("| sudo bash", "| bash")
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], env=env, capture_output=True, text=True,
                          timeout=240, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no single-file agent for" in done.stderr and "falling back to a Python virtualenv" in done.stderr
    (site,) = (prefix / "venv" / "lib").glob("python3*/site-packages")
    agent = await _start(prefix, tmp_path / "agent.log")
    state = prefix / "state"
    try:
        device = await e2e_hub.connected_device(within=60)
        await eventually(lambda: _version(e2e_hub, device.id, "0.1.0"), within=30, message="version N reported")
        await set_policy(admin, "rmm-update-agents", "auto")
        yield VenvAgent(prefix, state, site, agent, device.id, dist)
    finally:
        plane.settings = original
        _kill_restarted(state, agent)
        await agent.stop()


def _dist_infos(site: Path) -> list[str]:
    return sorted(p.name for p in site.glob("rmmhub_agent-*.dist-info"))


async def test_venv_agent_updates_from_n_to_n_plus_1(
    e2e_hub: E2EHub, venv_agent: VenvAgent, wheels: dict[str, Path]
) -> None:
    publish(venv_agent.dist, wheels["next"], "0.1.1", WHEEL_PLATFORM)
    listed = await result_of(e2e_hub.client(e2e_hub.tenancy.viewer), "rmm-list-devices", {})
    assert [(d["agent_version"], d["agent_outdated"]) for d in listed["devices"]] == [("0.1.0", True)]
    done = await _update(e2e_hub, venv_agent.device_id)
    assert done["status"] == "succeeded" and "updating from 0.1.0 to 0.1.1" in done["stdout"], done
    await eventually(lambda: _version(e2e_hub, venv_agent.device_id, "0.1.1"), within=60, message="N+1 checks in")
    assert _dist_infos(venv_agent.site) == ["rmmhub_agent-0.1.1.dist-info"]
    assert '__version__ = "0.1.1"' in (venv_agent.site / "agent" / "__init__.py").read_text()

    async def settled() -> bool:
        return _pending(venv_agent.state).get("state") == "confirmed" and not (venv_agent.state / "rollback").exists()

    await eventually(settled, within=CONFIRM_SECONDS + 30, message="confirmed and the rollback copy dropped")
    assert venv_agent.agent.proc.returncode is None  # same process, re-executed as N+1


async def test_broken_venv_n_plus_1_is_rolled_back(
    e2e_hub: E2EHub, venv_agent: VenvAgent, wheels: dict[str, Path]
) -> None:
    publish(venv_agent.dist, wheels["broken"], "0.1.2", WHEEL_PLATFORM)
    first_pid = int((venv_agent.state / "agent.pid").read_text())
    done = await _update(e2e_hub, venv_agent.device_id)
    assert done["status"] == "succeeded" and "updating from 0.1.0 to 0.1.2" in done["stdout"], done

    async def rolled_back() -> bool:
        return _pending(venv_agent.state).get("state") == "rolled_back"

    await eventually(rolled_back, within=CONFIRM_SECONDS + 40, message="the rollback")
    assert _dist_infos(venv_agent.site) == ["rmmhub_agent-0.1.0.dist-info"]
    assert '__version__ = "0.1.0"' in (venv_agent.site / "agent" / "__init__.py").read_text()
    assert await venv_agent.agent.wait(within=30) is not None  # the silent N+1 was stopped

    async def back_online() -> bool:
        pid = (venv_agent.state / "agent.pid").read_text().strip()
        device = await e2e_hub.device(venv_agent.device_id)
        return pid != str(first_pid) and device is not None and device.ws_connected and device.agent_version == "0.1.0"

    await eventually(back_online, within=60, message="N restarted and checking in again")
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-run-command", "auto")
    operator = e2e_hub.client(e2e_hub.tenancy.operator)
    queued = await result_of(operator, "rmm-run-command", {"device": venv_agent.device_id, "command": "echo still-n"})
    assert (await finished_command(operator, queued["id"], within=30))["stdout"] == "still-n\n"


async def test_tampered_wheel_is_refused(e2e_hub: E2EHub, venv_agent: VenvAgent, wheels: dict[str, Path]) -> None:
    release = publish(venv_agent.dist, wheels["next"], "0.1.1", WHEEL_PLATFORM)
    data = bytearray(release.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    release.path.write_bytes(bytes(data))
    done = await _update(e2e_hub, venv_agent.device_id)
    assert done["status"] == "failed" and "SHA-256 mismatch" in done["stderr"], done
    assert _dist_infos(venv_agent.site) == ["rmmhub_agent-0.1.0.dist-info"]
    assert not (venv_agent.state / "rollback").exists() and venv_agent.agent.proc.returncode is None
