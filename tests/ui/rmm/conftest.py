"""Fixtures of the RMM page tests: devices enrolled and checked in through the real agent API (a simulated
agent over HTTP), and signed-in UI clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from agent.protocol import Application, OsFamily, Patch
from hub.core.db import Database
from native_rmm.plane import DevicePlane
from native_rmm.testing.agentsim import SimAgent, now, sample_inventory, sample_metrics
from tests.conftest import Tenancy, TestUser, base_token
from tests.ui.conftest import ui_login

APPS = [
    Application(name="Mozilla Firefox", version="128.0", publisher="Mozilla"),
    Application(name="OpenSSH server", version="9.2p1", publisher="Debian"),
    Application(name="PostgreSQL 16", version="16.4", publisher="PGDG"),
    Application(name="nginx", version="1.22.1", publisher="Debian"),
]
PATCHES = [
    Patch(id="openssl", title="OpenSSL security update", severity="important"),
    Patch(id="linux-image-amd64", title="Linux kernel", severity="moderate"),
]


@dataclass
class Enrolled:
    """A simulated agent enrolled through HTTP, and its device id."""

    agent: SimAgent
    device_id: int


async def enroll_and_checkin(
    agent: SimAgent, token: str, *, cpu: float = 12.5, history_minutes: int = 30, apps: bool = True
) -> Enrolled:
    """Enroll ``agent`` with ``token``, then send a full check-in plus one sample per past minute."""
    await agent.enroll(token)
    start = now() - timedelta(minutes=history_minutes)
    for minute in range(history_minutes):
        at = start + timedelta(minutes=minute)
        await agent.checkin(metrics=sample_metrics(cpu=10 + (minute * 7) % 40, memory=35 + minute % 10, at=at))
    await agent.checkin(
        metrics=sample_metrics(cpu=cpu),
        inventory=sample_inventory(agent.hostname),
        applications=APPS if apps else None,
        patches=PATCHES if apps else None,
    )
    assert agent.device_id is not None
    return Enrolled(agent, agent.device_id)


Fleet = Callable[..., Awaitable[Enrolled]]


@pytest.fixture
async def enroll(app: FastAPI, db: Database, tenancy: Tenancy) -> AsyncIterator[Fleet]:
    """``await enroll("LON-WEB-01", cpu=95)``: a device enrolled and checked in through the agent API in-process."""
    agents: list[SimAgent] = []
    token = await base_token(db, tenancy.org_id)
    plane: DevicePlane = app.state.hub.components.get(DevicePlane)

    async def make(hostname: str = "SIM-01", **kwargs: Any) -> Enrolled:
        agent = SimAgent("http://hub.test", hostname=hostname, transport=httpx.ASGITransport(app=app))
        agents.append(agent)
        enrolled = await enroll_and_checkin(agent, token, **kwargs)
        await plane.writer.flush()
        return enrolled

    yield make
    for agent in agents:
        await agent.aclose()


@pytest.fixture
async def ui_as(app: FastAPI) -> AsyncIterator[Callable[[TestUser], Awaitable[httpx.AsyncClient]]]:
    """``await ui_as(user)``: a client signed in through the login form, CSRF header set."""
    clients: list[httpx.AsyncClient] = []

    async def make(user: TestUser) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")
        clients.append(client)
        csrf = await ui_login(client, user.username, user.password)
        client.headers["X-CSRF-Token"] = csrf
        return client

    yield make
    for client in clients:
        await client.aclose()


__all__ = ["APPS", "PATCHES", "Enrolled", "Fleet", "OsFamily", "base_token", "enroll_and_checkin"]
