"""What the virtualenv and uv self-update tests share: agent wheels N+1 built from this tree, the one-liner
install against a hub that has uv but no single-file agent, and starting the installed agent."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from native_rmm.installers.wheel import AGENT_SOURCE
from native_rmm.plane import DevicePlane
from native_rmm.settings import RmmSettings
from tests.agent.agent_fakes import AgentProcess
from tests.conftest import LiveServer
from tests.e2e.conftest import E2EHub

CONFIRM_SECONDS = 30
PURELIB = sysconfig.get_paths()["purelib"]  # the agent's dependencies come from the test environment


def pip_wheel(source: Path, out: Path, name: str) -> Path:
    """``pip wheel`` of the project at ``source`` into ``out`` (no deps, no isolation): the wheel ``name-*.whl``."""
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "-w", str(out), str(source)], check=True)
    (wheel,) = out.glob(f"{name}-*.whl")
    return wheel


def agent_wheel(version: str, *, broken: bool = False, extra_requirement: str | None = None) -> Path:
    """This tree's agent as release ``version`` (in a temporary folder: remove ``wheel.parent.parent``).

    ``broken``: it starts and never checks in. ``extra_requirement``: a dependency version N lacks.
    """
    work = Path(tempfile.mkdtemp(prefix="rmmhub-agent-release-"))
    source = work / "agent"
    shutil.copytree(AGENT_SOURCE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist"))
    init = source / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "0.1.0"', f'__version__ = "{version}"'))
    project = source / "pyproject.toml"
    text = project.read_text().replace('version = "0.1.0"', f'version = "{version}"')
    if extra_requirement:
        text = text.replace("dependencies = [", f'dependencies = ["{extra_requirement}", ', 1)
    project.write_text(text)
    assert f'"{version}"' in init.read_text() and (not extra_requirement or extra_requirement in project.read_text())
    if broken:
        (source / "__main__.py").write_text("import time\n\ntime.sleep(600)\n")
    return pip_wheel(source, work / "dist", "rmmhub_agent")


@dataclass
class Installed:
    prefix: Path
    site: Path
    state: Path
    dist: Path
    stderr: str


@contextlib.asynccontextmanager
async def installed_without_binary(
    e2e_hub: E2EHub, live_server: LiveServer, tmp_path: Path
) -> AsyncIterator[Installed]:
    """Run the Base installer's Linux one-liner against a hub whose agent folder holds uv only (so it installs
    the wheel with uv), with a short update-confirm window; the hub's settings are restored afterwards."""
    plane: DevicePlane = live_server.app.state.hub.components.get(DevicePlane)
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "uv").symlink_to((RmmSettings().agent_dist_dir / "uv").resolve())
    original = plane.settings
    plane.settings = original.model_copy(
        update={"agent_dist_dir": dist, "agent_update_confirm_seconds": CONFIRM_SECONDS}
    )
    try:
        admin = e2e_hub.client(e2e_hub.tenancy.admin)
        (base,) = [i for i in (await admin.get("/api/v1/rmm/installers")).json() if i["kind"] == "base"]
        prefix = tmp_path / "opt" / "rmmhub-agent"
        env = {
            **os.environ,
            "RMMHUB_AGENT_PREFIX": str(prefix),
            "RMMHUB_AGENT_SYSTEMD_DIR": str(tmp_path / "sd"),
            "RMMHUB_AGENT_PYTHON": sys.executable,
            "RMMHUB_AGENT_NO_START": "1",
            "RMMHUB_AGENT_PIP_ARGS": "--no-deps --no-index",
            "PYTHONPATH": PURELIB,
        }
        command = base["commands"]["linux"].replace("| sudo bash", "| bash")
        done = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {command}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        (site,) = (prefix / "venv" / "lib").glob("python3*/site-packages")
        yield Installed(prefix, site, prefix / "state", dist, done.stderr)
    finally:
        plane.settings = original


async def start_agent(prefix: Path, log_path: Path, env: Mapping[str, str]) -> AgentProcess:
    """``PREFIX/venv/bin/python -m agent run`` with the install's state folder, logging to ``log_path``."""
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            str(prefix / "venv" / "bin" / "python"),
            "-m",
            "agent",
            "run",
            "--state-dir",
            str(prefix / "state"),
            cwd=prefix,
            env=dict(env),
            stdout=log,
            stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
        )
    return AgentProcess(proc, log_path)
