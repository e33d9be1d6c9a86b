"""End-to-end fixtures: the real hub (in-process uvicorn on loopback, or ``python -m hub.cli serve`` as a
subprocess) and the real agent as a child process, talking over loopback only.

Every wait is bounded (:func:`eventually`), every process is killed in a ``finally``/fixture
teardown, and everything runs on both database backends (the ``database_url`` parametrization).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.core.db import Database
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from tests.agent.agent_fakes import AgentProcess as AgentProcess  # re-exported for the e2e tests
from tests.agent.agent_fakes import StartAgent, agent_processes
from tests.agent.agent_fakes import agent_env as agent_env  # re-exported for the e2e tests
from tests.conftest import SECRET, LiveServer, Tenancy, TestUser, base_token, free_port
from tests.waiting import eventually

REPO = Path(__file__).resolve().parents[2]


# --- agent processes ----------------------------------------------------------------------------


@pytest.fixture
async def start_agent(tmp_path: Path) -> AsyncIterator[StartAgent]:
    """``await start_agent("run", "--hub", url, ...)``: an agent process, stopped at teardown."""
    async with agent_processes(tmp_path) as start:
        yield start


# --- the hub ------------------------------------------------------------------------------------


@dataclass
class E2EHub:
    """A real hub on loopback with an organisation, its users, and the Base installer token."""

    url: str
    db: Database
    tenancy: Tenancy
    base_token: str
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, user: TestUser | None = None) -> httpx.AsyncClient:
        """An HTTP client for the hub (bearer-authenticated as ``user`` when given)."""
        headers = {"Authorization": f"Bearer {user.token}"} if user is not None else {}
        client = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()

    async def device(self, device_id: int | None = None) -> Device | None:
        """The device (the only one when no id is given), read fresh from the database."""
        async with self.db.sessionmaker() as session:
            stmt = select(Device).order_by(Device.id)
            if device_id is not None:
                stmt = stmt.where(Device.id == device_id)
            return (await session.execute(stmt.limit(1))).scalar_one_or_none()

    async def command(self, command_id: int) -> Command:
        async with self.db.sessionmaker() as session:
            command = await session.get(Command, command_id)
            assert command is not None
            return command

    async def connected_device(self, within: float = 30) -> Device:
        """Wait until an enrolled device holds its push WebSocket; return it."""

        async def check() -> Device | None:
            device = await self.device()
            return device if device is not None and device.ws_connected else None

        result: Device = await eventually(check, within=within, message="an enrolled device with its WebSocket")
        return result


@pytest.fixture
async def e2e_hub(db: Database, tenancy: Tenancy, live_server: LiveServer) -> AsyncIterator[E2EHub]:
    """The in-process live hub (uvicorn on loopback) with users of every role."""
    hub = E2EHub(live_server.url, db, tenancy, await base_token(db, tenancy.org_id))
    yield hub
    await hub.close()


# --- tools through REST ---------------------------------------------------------------------------


async def invoke(client: httpx.AsyncClient, tool: str, args: dict[str, Any], *, reason: str = "") -> dict[str, Any]:
    """``POST /api/v1/tools/<tool>/invoke``; returns the pipeline's outcome (fails on refusal or error)."""
    response = await client.post(f"/api/v1/tools/{tool}/invoke", json={"args": args, "reason": reason})
    assert response.status_code in (200, 202), f"{tool}: {response.status_code} {response.text}"
    outcome: dict[str, Any] = response.json()
    return outcome


async def result_of(client: httpx.AsyncClient, tool: str, args: dict[str, Any]) -> Any:
    """Invoke an ``auto`` tool and return its result."""
    outcome = await invoke(client, tool, args)
    assert outcome["status"] == "done", outcome
    return outcome["result"]


async def set_policy(admin: httpx.AsyncClient, tool: str, mode: str) -> None:
    """Override a tool's policy as admin (``PUT /api/v1/policies/<tool>``)."""
    response = await admin.put(f"/api/v1/policies/{tool}", json={"mode": mode, "note": "e2e test"})
    assert response.status_code == 200, response.text
    assert response.json()["mode"] == mode


async def approve(approver: httpx.AsyncClient, approval_id: int) -> dict[str, Any]:
    """Approve as another user; returns the approval with the run's result."""
    response = await approver.post(f"/api/v1/approvals/{approval_id}/approve", json={"note": "ok (e2e)"})
    assert response.status_code == 200, response.text
    approval: dict[str, Any] = response.json()
    assert approval["status"] in ("executed", "approved"), approval
    return approval


async def finished_command(
    client: httpx.AsyncClient, command_id: int, *, within: float = 30, max_chars: int = 8000
) -> dict[str, Any]:
    """Poll ``rmm-get-command-result`` until the command has ended."""

    async def check() -> dict[str, Any] | None:
        result: dict[str, Any] = await result_of(
            client, "rmm-get-command-result", {"command_id": command_id, "max_chars": max_chars}
        )
        return result if result["status"] in ("succeeded", "failed", "timed_out", "cancelled") else None

    done: dict[str, Any] = await eventually(check, within=within, every=0.1, message=f"command #{command_id}")
    return done


# --- a hub as a subprocess ------------------------------------------------------------------------


class HubProcess:
    """``python -m hub.cli serve`` on a fixed port and database, killable and restartable."""

    def __init__(
        self, *, database_url: str, workdir: Path, port: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("RMMHUB_")},
            "RMMHUB_ENV": "dev",
            "RMMHUB_SECRET_KEY": SECRET,
            "RMMHUB_DATABASE_URL": database_url,
            "RMMHUB_PORT": str(self.port),
            "RMMHUB_PUBLIC_URL": self.url,
            "RMMHUB_SCHEDULER_ENABLED": "false",
            "RMMHUB_LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"hub-{self.starts}.log"

    def log(self) -> str:
        return "\n".join((self.workdir / f"hub-{n}.log").read_text(errors="replace") for n in range(1, self.starts + 1))

    def start(self, *args: str, within: float = 60) -> None:
        """Start ``serve`` and wait until ``/healthz`` answers."""
        self.starts += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "serve", *args],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + within
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                raise AssertionError(f"rmmhub serve did not come up:\n{self.log()[-4000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the hub (a crash: nothing is flushed, nothing is closed cleanly)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def stop(self, within: float = 20) -> None:
        """SIGTERM (graceful shutdown), SIGKILL the whole process group after ``within`` seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    def reap(self) -> None:
        """Stop the hub and SIGKILL whatever is left of its process group (children it started)."""
        self.stop(within=10)
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture
def hub_process(settings: Any, tmp_path: Path) -> Iterator[Callable[..., HubProcess]]:
    """``hub_process(**env)``: a subprocess hub on the test's database, killed at teardown."""
    made: list[HubProcess] = []

    def make(**env: str) -> HubProcess:
        process = HubProcess(database_url=settings.database_url, workdir=tmp_path / f"hub{len(made)}", env=env)
        made.append(process)
        return process

    yield make
    for process in made:
        process.reap()
