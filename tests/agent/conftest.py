"""Fixtures for agent tests: a fake hub on loopback and a real agent process."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agent_fakes import REPO, AgentProcess, FakeHub, StartAgent


@pytest.fixture
async def fake_hub() -> AsyncIterator[FakeHub]:
    hub = FakeHub()
    hub.state.checkin_interval = 5  # the agent process overrides it: RMMHUB_AGENT_CHECKIN_INTERVAL=1
    await hub.start()
    yield hub
    if hub._server is not None and not hub._server.should_exit:
        await hub.stop()


@pytest.fixture
async def start_agent(tmp_path: Path) -> AsyncIterator[StartAgent]:
    started: list[AgentProcess] = []

    async def start(*args: str, env: dict[str, str] | None = None) -> AgentProcess:
        log_path = tmp_path / f"agent-{len(started)}.log"
        environment = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "RMMHUB_AGENT_CHECKIN_INTERVAL": "1",
            "RMMHUB_AGENT_RECONNECT_MAX": "0.5",
            **(env or {}),
        }
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "agent",
                *args,
                cwd=REPO,
                env=environment,
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )
        agent = AgentProcess(proc, log_path)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        await agent.stop()
