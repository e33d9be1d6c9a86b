"""Fixtures for agent tests: a fake hub on loopback and a real agent process."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.agent.fakehub import FakeHub

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fake_hub() -> AsyncIterator[FakeHub]:
    hub = FakeHub()
    hub.state.checkin_interval = 5  # the agent process overrides it: RMMHUB_AGENT_CHECKIN_INTERVAL=1
    await hub.start()
    yield hub
    if hub._server is not None and not hub._server.should_exit:
        await hub.stop()


class AgentProcess:
    """``python -m agent run`` as a real child process, with its log kept for failure messages."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait(self, within: float = 20) -> int:
        return await asyncio.wait_for(self.proc.wait(), within)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


StartAgent = Callable[..., Awaitable[AgentProcess]]


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
                sys.executable, "-m", "agent", *args, cwd=REPO, env=environment, stdout=log, stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        agent = AgentProcess(proc, log_path)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        await agent.stop()


async def eventually(check: Callable[[], object], within: float = 20, message: str = "condition") -> None:
    """Poll ``check`` until it is truthy."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(0.05)
