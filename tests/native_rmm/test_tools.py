"""The device tools through the gate: listing, fuzzy search, state, applications, patches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from agent.protocol import Application, Patch
from hub.core.db import Database
from hub.core.tenancy import create_customer
from native_rmm.plane import DevicePlane
from native_rmm.testing.agentsim import SimAgent, now, sample_inventory, sample_metrics
from policies.outcome import InvocationStatus, Outcome
from tests.conftest import Tenancy

Invoke = Callable[..., Awaitable[Outcome]]
APPS = [Application(name=f"app-{i:03d}", version="1.0", publisher="Acme" if i % 2 else "Other") for i in range(120)]


async def _populated(agent: SimAgent, plane: DevicePlane) -> None:
    for minutes, cpu in ((50, 10.0), (30, 30.0), (1, 50.0)):
        await agent.checkin(metrics=sample_metrics(cpu=cpu, at=now() - timedelta(minutes=minutes)))
    await agent.checkin(
        inventory=sample_inventory("LON-DC-01"),
        applications=APPS,
        patches=[Patch(id="KB5034441", title="Security update", severity="Critical"), Patch(id="KB1", title="x")],
        metrics=sample_metrics(cpu=20.0),
    )
    await plane.writer.flush()


async def test_list_and_get(
    agent: SimAgent, plane: DevicePlane, invoke: Invoke, tenancy: Tenancy, db: Database
) -> None:
    await _populated(agent, plane)
    async with db.transaction() as session:
        await create_customer(session, org_id=tenancy.org_id, name="Acme Ltd")
    customers = await invoke(tenancy.viewer, "rmm-list-customers", {})
    assert customers.status is InvocationStatus.DONE
    assert [(c["name"], c["device_count"]) for c in customers.result] == [("Unassigned", 1), ("Acme Ltd", 0)]
    sites = await invoke(tenancy.viewer, "rmm-list-sites", {})
    assert {s["name"] for s in sites.result} == {"Unassigned", "Main"}
    listed = await invoke(tenancy.viewer, "rmm-list-devices", {"query": "dc-01", "status": "online"})
    assert [d["hostname"] for d in listed.result["devices"]] == ["LON-DC-01"]
    fuzzy = await invoke(tenancy.viewer, "rmm-list-devices", {"query": "londc1"})
    assert [d["hostname"] for d in fuzzy.result["devices"]] == ["LON-DC-01"] and "closest" in fuzzy.result["note"]
    assert (await invoke(tenancy.viewer, "rmm-list-devices", {"customer": "acme"})).result["devices"] == []
    device = await invoke(tenancy.viewer, "rmm-get-device", {"device": "lon-dc-01"})
    assert device.result["ip"] == "10.0.0.17" and device.result["hardware"]["cpu_cores"] == 4
    missing = await invoke(tenancy.viewer, "rmm-get-device", {"device": "nope"})
    assert missing.status is InvocationStatus.FAILED and "rmm-list-devices" in missing.message


async def test_state_apps_patches(agent: SimAgent, plane: DevicePlane, invoke: Invoke, tenancy: Tenancy) -> None:
    await _populated(agent, plane)
    state = (await invoke(tenancy.viewer, "rmm-get-device-state", {"device": agent.device_id})).result
    assert state["cpu_percent"] == 20.0 and state["samples"] == 4
    assert state["cpu_trend"] == {"minimum": 10.0, "average": 27.5, "maximum": 50.0}
    assert state["load"] == [0.5, 0.4, 0.3] and len(state["points"]) == 4
    apps = (
        await invoke(tenancy.viewer, "rmm-list-device-apps", {"device": agent.device_id, "search": "acme", "limit": 10})
    ).result
    assert apps["total"] == 60 and len(apps["applications"]) == 10 and apps["more"] is True
    patches = (await invoke(tenancy.viewer, "rmm-get-device-patches", {"device": agent.device_id})).result
    assert patches["pending"] == 2
    marked = await invoke(tenancy.operator, "rmm-mark-patch-applied", {"device": agent.device_id, "patch": "KB1"})
    assert marked.status is InvocationStatus.DONE and marked.result["status"] == "installed"
    assert marked.result["marked_by"] == "olga"
    denied = await invoke(tenancy.viewer, "rmm-mark-patch-applied", {"device": agent.device_id, "patch": "KB1"})
    assert denied.status is InvocationStatus.REFUSED
    install = await invoke(
        tenancy.operator, "rmm-install-patches", {"device": agent.device_id, "patch_ids": ["KB5034441"]}
    )
    assert install.status is InvocationStatus.PENDING_APPROVAL
