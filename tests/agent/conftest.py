"""Fixtures for agent tests: a fake hub on loopback and a real agent process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agent_fakes import AgentProcess, FakeHub, StartAgent, agent_env, agent_processes


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
    """``await start_agent(*args, env={...})``: an agent process (``env`` adds to :func:`agent_env`)."""
    async with agent_processes(tmp_path) as start:

        async def start_with(*args: str, env: dict[str, str] | None = None) -> AgentProcess:
            return await start(*args, env=agent_env(**(env or {})))

        yield start_with
