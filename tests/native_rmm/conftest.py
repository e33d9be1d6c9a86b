"""Fixtures of the native RMM tests: installer tokens, simulated agents, enrolled devices, the plane."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from agent.protocol import PROTOCOL_VERSION, EnrollRequest, OsFamily
from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.db import Database
from native_rmm.devices.enrollment import enroll
from native_rmm.installers import service as installers
from native_rmm.plane import DevicePlane
from native_rmm.settings import RmmSettings
from native_rmm.testing.agentsim import SimAgent
from policies import approvals
from policies.outcome import Outcome
from policies.pipeline import Gate
from tests.conftest import Tenancy, TestUser
from tests.conftest import base_token as installer_base_token


@pytest.fixture
def plane(hub: HubContext) -> DevicePlane:
    """The running app's device plane."""
    p: DevicePlane = hub.components.get(DevicePlane)
    return p


@pytest.fixture
async def base_token(db: Database, tenancy: Tenancy) -> str:
    """The plain token of the organisation's Base installer."""
    return await installer_base_token(db, tenancy.org_id)


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
    gate: Gate = hub.components.get(Gate)

    async def run(user: TestUser, name: str, args: dict[str, Any]) -> Outcome:
        async with hub.db.transaction() as session:
            return await gate.invoke(session, caller_of(user), name, args)

    return run


@pytest.fixture
def approve(hub: HubContext) -> Callable[..., Awaitable[Any]]:
    """``await approve(approver, approval_id)``: approve (and so run) a pending call."""
    gate: Gate = hub.components.get(Gate)

    async def run(user: TestUser, approval_id: int) -> Any:
        async with hub.db.transaction() as session:
            return await approvals.approve(session, gate, approver=caller_of(user), approval_id=approval_id)

    return run


DeviceFactory = Callable[..., Awaitable[int]]


async def make_device(
    db: Database, org_id: int, *, os_family: OsFamily = OsFamily.LINUX, hostname: str = "web-01"
) -> int:
    """Enroll a device through the Base installer, as an agent would; returns its id."""
    async with db.transaction() as session:
        installer = await installers.ensure_base_installer(session, org_id=org_id)
        request = EnrollRequest(
            installer_token=installers.installer_token(session, installer),
            hostname=hostname,
            os_family=os_family,
            os_name=os_family.value.title(),
            os_version="1",
            agent_version="1.0.0",
            protocol_version=PROTOCOL_VERSION,
        )
        device, _ = await enroll(session, request, settings=RmmSettings(_env_file=None))  # type: ignore[call-arg]
        return device.id


@pytest.fixture
def device_factory(db: Database) -> DeviceFactory:
    """``await device_factory(org_id, os_family=..., hostname=...)`` -> device id."""

    async def make(org_id: int, **kwargs: Any) -> int:
        return await make_device(db, org_id, **kwargs)

    return make
