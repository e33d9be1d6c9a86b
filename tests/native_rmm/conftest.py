"""Fixtures of the native RMM device-plane tests: installer tokens, simulated agents, the plane."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.db import Database
from native_rmm.installers import service as installers
from native_rmm.plane import DevicePlane
from native_rmm.testing.agentsim import SimAgent
from policies import approvals
from policies.outcome import Outcome
from policies.pipeline import Gate
from tests.conftest import Tenancy, TestUser


@pytest.fixture
def plane(hub: HubContext) -> DevicePlane:
    """The running app's device plane."""
    p: DevicePlane = hub.services["native_rmm"]
    return p


@pytest.fixture
async def base_token(db: Database, tenancy: Tenancy) -> str:
    """The plain token of the organisation's Base installer."""
    async with db.transaction() as session:
        installer = await installers.ensure_base_installer(session, org_id=tenancy.org_id)
        return installers.installer_token(session, installer)


@pytest.fixture
async def make_agent(app: FastAPI) -> AsyncIterator[Callable[..., SimAgent]]:
    """``make_agent(hostname=...)``: a simulated agent talking to the app in-process."""
    agents: list[SimAgent] = []

    def make(hostname: str = "SIM-01") -> SimAgent:
        agent = SimAgent("http://hub.test", hostname=hostname, transport=httpx.ASGITransport(app=app))
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        await agent.aclose()


@pytest.fixture
async def agent(make_agent: Callable[..., SimAgent], base_token: str) -> SimAgent:
    """An agent enrolled with the Base installer."""
    sim = make_agent()
    await sim.enroll(base_token)
    return sim


def caller_of(user: TestUser, kind: CallerKind = CallerKind.API) -> Caller:
    """A pipeline caller for a test user."""
    return Caller(user_id=user.id, label=user.username, role=user.role, org_id=user.org_id, kind=kind)


@pytest.fixture
def invoke(hub: HubContext, db: Database) -> Callable[..., Awaitable[Outcome]]:
    """``await invoke(user, "rmm-...", {...})``: one tool call through the gate, committed."""
    gate: Gate = hub.services["gate"]

    async def run(user: TestUser, name: str, args: dict[str, Any]) -> Outcome:
        async with hub.db.transaction() as session:
            return await gate.invoke(session, caller_of(user), name, args)

    return run


@pytest.fixture
def approve(hub: HubContext) -> Callable[..., Awaitable[Any]]:
    """``await approve(approver, approval_id)``: approve (and so run) a pending call."""
    gate: Gate = hub.services["gate"]

    async def run(user: TestUser, approval_id: int) -> Any:
        async with hub.db.transaction() as session:
            return await approvals.approve(session, gate, approver=caller_of(user), approval_id=approval_id)

    return run
