"""One device filter: the device list page and ``rmm-list-devices`` return the same devices.

Both go through :class:`native_rmm.devices.queries.DeviceFilters`: the text query matches hostname,
display name or primary IP; uninstalled devices are left out unless the status asks for them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import update

from hub.core.db import Database
from native_rmm.devices import queries
from native_rmm.devices.queries import DeviceFilters
from native_rmm.devices.service import get_device, mark_uninstalled
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.testing.agentsim import SimAgent, sample_inventory
from policies.outcome import InvocationStatus, Outcome
from tests.conftest import Tenancy

Invoke = Callable[..., Awaitable[Outcome]]
FLEET = {"LON-DC-01": "10.1.0.10", "LON-WEB-01": "10.1.0.20", "PAR-DC-02": "192.168.5.10", "GONE-PC": "10.1.0.99"}


@pytest.fixture
async def fleet(make_agent: Callable[..., SimAgent], base_token: str, db: Database, tenancy: Tenancy) -> dict[str, int]:
    ids: dict[str, int] = {}
    for hostname, ip in FLEET.items():
        agent = make_agent(hostname)
        await agent.enroll(base_token)
        await agent.checkin(inventory=sample_inventory(hostname))
        assert agent.device_id is not None
        ids[hostname] = agent.device_id
        async with db.transaction() as session:
            await session.execute(update(Device).where(Device.id == agent.device_id).values(primary_ip=ip))
    async with db.transaction() as session:
        gone = await get_device(session, org_id=tenancy.org_id, device_id=ids["GONE-PC"])
        await mark_uninstalled(session, gone, reason="test", bus=None)
    return ids


async def _page_ids(db: Database, org_id: int, filters: DeviceFilters) -> list[int]:
    async with db.transaction() as session:
        found = await queries.device_page(session, org_id=org_id, filters=filters, offset=0, limit=500)
    return [row.id for row in found.rows]


async def _tool_ids(invoke: Invoke, tenancy: Tenancy, args: dict[str, Any]) -> list[int]:
    outcome = await invoke(tenancy.viewer, "rmm-list-devices", {**args, "limit": 500})
    assert outcome.status is InvocationStatus.DONE, outcome.message
    return [d["id"] for d in outcome.result["devices"]]


@pytest.mark.parametrize(
    ("filters", "args", "expected"),
    [
        (DeviceFilters(), {}, ["LON-DC-01", "LON-WEB-01", "PAR-DC-02"]),
        (DeviceFilters(q="lon"), {"query": "lon"}, ["LON-DC-01", "LON-WEB-01"]),
        (DeviceFilters(q="10.1.0."), {"query": "10.1.0."}, ["LON-DC-01", "LON-WEB-01"]),
        (DeviceFilters(q="192.168"), {"query": "192.168"}, ["PAR-DC-02"]),
        (DeviceFilters(status=DeviceStatus.UNINSTALLED), {"status": "uninstalled"}, ["GONE-PC"]),
        (DeviceFilters(include_uninstalled=True), {"include_uninstalled": True}, sorted(FLEET)),
        (DeviceFilters(customer="unassigned"), {"customer": "unassigned"}, ["LON-DC-01", "LON-WEB-01", "PAR-DC-02"]),
    ],
)
async def test_page_and_tool_return_the_same_devices(
    fleet: dict[str, int],
    db: Database,
    tenancy: Tenancy,
    invoke: Invoke,
    filters: DeviceFilters,
    args: dict[str, Any],
    expected: list[str],
) -> None:
    wanted = [fleet[name] for name in expected]
    page = await _page_ids(db, tenancy.org_id, filters)
    tool = await _tool_ids(invoke, tenancy, args)
    assert page == tool == wanted
