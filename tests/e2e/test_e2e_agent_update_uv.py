"""Self-update of the uv-provisioned agent (the layout the Windows and macOS installers create:
PREFIX/bin/uv, PREFIX/venv), run on Linux for real with the macOS service steps.

The Linux one-liner against a hub with uv but no single-file agent installs that same layout with
the hub-served uv (staged in var/agent-dist). The agent is then registered as a launchd agent, with
a stand-in ``launchctl`` on its PATH that starts the agent the way launchd's ``kickstart -k`` would.

* N -> N+1 where N+1 needs a package N does not have: the layout's uv adds it (from a local
  find-links folder: no internet), the wheel is swapped, the agent re-executes in place (same pid,
  as under launchd), checks in as N+1 and confirms.
* A broken N+1 (installs, never checks in): the watchdog stops it, restores N and restarts the
  daemon through the generated helper (``launchctl kickstart -k system/com.rmmhub.agent``); N is
  back online and runs a command.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from native_rmm.updates.releases import WHEEL_PLATFORM, publish
from tests.agent.agent_fakes import AgentProcess, agent_env
from tests.conftest import LiveServer
from tests.e2e.agent_releases import (
    CONFIRM_SECONDS,
    PURELIB,
    agent_wheel,
    installed_without_binary,
    pip_wheel,
    start_agent,
)
from tests.e2e.conftest import E2EHub, eventually, finished_command, result_of, set_policy
from tests.e2e.test_e2e_agent_update import _kill_restarted, _pending, _update, _version

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the installer on Linux"),
    pytest.mark.slow,
]
DEP = "rmmhub-update-testdep"


def _dep_wheel(links: Path) -> Path:
    """A tiny package N+1 requires and N lacks, in a find-links folder."""
    source = links.parent / DEP
    (source / "rmmhub_update_testdep").mkdir(parents=True)
    (source / "rmmhub_update_testdep" / "__init__.py").write_text("VALUE = 1\n")
    (source / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{DEP}"\nversion = "1.0"\n'
    )
    return pip_wheel(source, links, DEP.replace("-", "_"))


@pytest.fixture(scope="module")
def releases() -> Iterator[dict[str, Path]]:
    links = Path(tempfile.mkdtemp(prefix="rmmhub-uv-links-")) / "links"
    links.mkdir()
    _dep_wheel(links)
    built = {
        "next": agent_wheel("0.1.1", extra_requirement=f"{DEP}>=1.0"),
        "broken": agent_wheel("0.1.2", broken=True),
        "links": links,
    }
    yield built
    for path in built.values():
        shutil.rmtree(path.parent if path.is_dir() else path.parent.parent, ignore_errors=True)


def _stand_in_launchctl(folder: Path, prefix: Path, log: Path) -> Path:
    """``launchctl``: records each call; ``kickstart -k`` starts the agent detached, as launchd would (with
    launchd's own environment, not the watchdog's)."""
    folder.mkdir(parents=True)
    calls = folder / "calls.log"
    script = folder / "launchctl"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> "{calls}"\n'
        'if [ "$1" = kickstart ]; then\n'
        f'  cd "{prefix}" && PYTHONPATH="{PURELIB}" setsid "{prefix}/venv/bin/python" -m agent run '
        f'--state-dir "{prefix}/state" '
        f'>>"{log}" 2>&1 </dev/null &\n'
        "fi\n"
        "exit 0\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return calls


@dataclass
class UvAgent:
    prefix: Path
    state: Path
    site: Path
    agent: AgentProcess
    device_id: int
    dist: Path
    launchctl_calls: Path


@pytest.fixture
async def uv_agent(
    e2e_hub: E2EHub, live_server: LiveServer, tmp_path: Path, releases: dict[str, Path]
) -> AsyncIterator[UvAgent]:
    async with installed_without_binary(e2e_hub, live_server, tmp_path) as installed:
        prefix, state = installed.prefix, installed.state
        assert (prefix / "bin" / "uv").is_file(), "the uv layout: PREFIX/bin/uv from the hub"
        # Registered as a launchd daemon (what macos.sh enrolls with), launchctl being the stand-in.
        plist = tmp_path / "LaunchDaemons" / "com.rmmhub.agent.plist"
        plist.parent.mkdir()
        plist.write_text("<plist/>")
        saved = json.loads((state / "agent.json").read_text())
        saved["install"].update({"service": "launchd", "service_file": str(plist)})
        (state / "agent.json").write_text(json.dumps(saved))
        calls = _stand_in_launchctl(tmp_path / "bin", prefix, tmp_path / "agent-launchd.log")
        agent_vars = agent_env(
            PYTHONPATH=PURELIB,
            PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
            UV_FIND_LINKS=str(releases["links"]),
            UV_NO_INDEX="1",
        )
        agent = await start_agent(prefix, tmp_path / "agent.log", agent_vars)
        try:
            device = await e2e_hub.connected_device(within=60)
            await eventually(lambda: _version(e2e_hub, device.id, "0.1.0"), within=30, message="version N reported")
            await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-update-agents", "auto")
            yield UvAgent(prefix, state, installed.site, agent, device.id, installed.dist, calls)
        finally:
            _kill_restarted(state, agent)
            await agent.stop()


async def test_uv_agent_adds_a_requirement_and_updates_in_place(
    e2e_hub: E2EHub, uv_agent: UvAgent, releases: dict[str, Path]
) -> None:
    assert not list(uv_agent.site.glob("rmmhub_update_testdep*"))
    publish(uv_agent.dist, releases["next"], "0.1.1", WHEEL_PLATFORM)
    done = await _update(e2e_hub, uv_agent.device_id)
    assert done["status"] == "succeeded" and "updating from 0.1.0 to 0.1.1" in done["stdout"], done
    await eventually(lambda: _version(e2e_hub, uv_agent.device_id, "0.1.1"), within=60, message="N+1 checks in")
    assert (uv_agent.site / "rmmhub_update_testdep" / "__init__.py").is_file(), "uv added N+1's requirement"
    assert not (uv_agent.prefix / "cache").exists()

    async def settled() -> bool:
        return _pending(uv_agent.state).get("state") == "confirmed" and not (uv_agent.state / "rollback").exists()

    await eventually(settled, within=CONFIRM_SECONDS + 30, message="confirmed and the rollback copy dropped")
    assert uv_agent.agent.proc.returncode is None  # launchd's process, re-executed in place as N+1
    assert not uv_agent.launchctl_calls.exists()  # launchd was not needed


async def test_broken_n_plus_1_is_rolled_back_through_launchd(
    e2e_hub: E2EHub, uv_agent: UvAgent, releases: dict[str, Path]
) -> None:
    publish(uv_agent.dist, releases["broken"], "0.1.2", WHEEL_PLATFORM)
    first_pid = int((uv_agent.state / "agent.pid").read_text())
    done = await _update(e2e_hub, uv_agent.device_id)
    assert done["status"] == "succeeded" and "updating from 0.1.0 to 0.1.2" in done["stdout"], done

    async def rolled_back() -> bool:
        return _pending(uv_agent.state).get("state") == "rolled_back"

    await eventually(rolled_back, within=CONFIRM_SECONDS + 40, message="the rollback")
    assert '__version__ = "0.1.0"' in (uv_agent.site / "agent" / "__init__.py").read_text()
    assert await uv_agent.agent.wait(within=30) is not None  # the silent N+1 was stopped

    async def back_online() -> bool:
        pid = (uv_agent.state / "agent.pid").read_text().strip()
        device = await e2e_hub.device(uv_agent.device_id)
        return pid != str(first_pid) and device is not None and device.ws_connected and device.agent_version == "0.1.0"

    await eventually(back_online, within=60, message="launchd restarted N and it checks in")
    assert uv_agent.launchctl_calls.read_text().splitlines() == ["kickstart -k system/com.rmmhub.agent"]
    assert "LABEL=com.rmmhub.agent\n" in (uv_agent.state / "update-restart.sh").read_text()
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-run-command", "auto")
    operator = e2e_hub.client(e2e_hub.tenancy.operator)
    queued = await result_of(operator, "rmm-run-command", {"device": uv_agent.device_id, "command": "echo still-n"})
    assert (await finished_command(operator, queued["id"], within=30))["stdout"] == "still-n\n"
