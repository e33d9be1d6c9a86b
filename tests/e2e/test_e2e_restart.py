"""A hub crash in the middle of a command loses no result: ``rmmhub serve`` as a subprocess on a fixed
port and database is SIGKILLed while the agent runs a command, and started again; the agent spools
the result and delivers it once the hub is back.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.protocol import CommandStatus
from hub.core.db import Database
from tests.conftest import Tenancy, base_token
from tests.e2e.conftest import (
    E2EHub,
    HubProcess,
    StartAgent,
    finished_command,
    result_of,
    set_policy,
)
from tests.waiting import eventually

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
    pytest.mark.slow,
]


async def test_hub_restart_mid_command_loses_no_result(
    db: Database, tenancy: Tenancy, hub_process: Callable[..., HubProcess], start_agent: StartAgent, tmp_path: Path
) -> None:
    process = hub_process()
    await asyncio.to_thread(process.start)
    hub = E2EHub(process.url, db, tenancy, await base_token(db, tenancy.org_id))
    state_dir = tmp_path / "state"
    spool = state_dir / "spool"
    try:
        agent = await start_agent("run", "--state-dir", str(state_dir), "--hub", hub.url, "--token", hub.base_token)
        device = await hub.connected_device()
        await set_policy(hub.client(tenancy.admin), "rmm-run-command", "auto")
        operator = hub.client(tenancy.operator)
        queued = await result_of(
            operator, "rmm-run-command", {"device": device.id, "command": "sleep 3; echo survived"}
        )

        async def running() -> bool:
            return (await hub.command(queued["id"])).status is CommandStatus.RUNNING

        await eventually(running, within=10, message="the command running on the agent")
        await asyncio.to_thread(process.kill)

        # The command finishes while the hub is down: its result waits in the agent's spool.
        await eventually(
            lambda: asyncio.to_thread(_spooled, spool), within=15, message="the result spooled by the agent"
        )
        assert (await hub.command(queued["id"])).status is CommandStatus.RUNNING
        assert agent.proc.returncode is None, agent.log()

        await asyncio.to_thread(process.start)
        done = await finished_command(operator, queued["id"], within=30)
        assert done["status"] == "succeeded" and done["stdout"] == "survived\n", done
        await eventually(lambda: _empty(spool), within=15, message="the spool emptied after the ack")
        # The agent is back on its push channel after the restart, and keeps working.
        again = await result_of(operator, "rmm-run-command", {"device": device.id, "command": "echo again"})
        assert (await finished_command(operator, again["id"], within=15))["stdout"] == "again\n"
    finally:
        await hub.close()


async def _empty(spool: Path) -> bool:
    return not await asyncio.to_thread(_spooled, spool)


def _spooled(spool: Path) -> list[Path]:
    return sorted(spool.glob("*.json")) if spool.exists() else []
