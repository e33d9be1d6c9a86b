"""Self-update of the virtualenv agent (the fallback route where the hub has no single-file agent for
the architecture), for real: the Linux one-liner against a hub with no binary installs the wheel
with the hub-served uv; ``rmm-update-agents`` updates it from N to N+1 (a signed wheel release); a
broken N+1 (installs, never checks in) is rolled back to N by the watchdog; a tampered wheel is
refused. N+1 is this agent's source with the version bumped, built with pip as the hub builds N.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from native_rmm.updates.releases import WHEEL_PLATFORM, publish
from tests.agent.agent_fakes import AgentProcess, agent_env
from tests.conftest import LiveServer
from tests.e2e.agent_releases import CONFIRM_SECONDS, PURELIB, agent_wheel, installed_without_binary, start_agent
from tests.e2e.conftest import E2EHub, eventually, finished_command, result_of, set_policy
from tests.e2e.test_e2e_agent_update import _kill_restarted, _pending, _update, _version

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the installer on Linux"),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def wheels() -> Iterator[dict[str, Path]]:
    built = {"next": agent_wheel("0.1.1"), "broken": agent_wheel("0.1.2", broken=True)}
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
    return await start_agent(prefix, log_path, agent_env(PYTHONPATH=PURELIB))


@pytest.fixture
async def venv_agent(e2e_hub: E2EHub, live_server: LiveServer, tmp_path: Path) -> AsyncIterator[VenvAgent]:
    """The one-liner against a hub that has uv but no single-file agent: the venv route, then running."""
    async with installed_without_binary(e2e_hub, live_server, tmp_path) as installed:
        assert "no single-file agent for" in installed.stderr
        assert "falling back to a Python virtualenv" in installed.stderr
        prefix, state = installed.prefix, installed.state
        agent = await _start(prefix, tmp_path / "agent.log")
        try:
            device = await e2e_hub.connected_device(within=60)
            await eventually(lambda: _version(e2e_hub, device.id, "0.1.0"), within=30, message="version N reported")
            await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-update-agents", "auto")
            yield VenvAgent(prefix, state, installed.site, agent, device.id, installed.dist)
        finally:
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
