"""Role-aware policies and two-person approval, through the gate over REST (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from sqlalchemy import select

from hub.core.audit import AuditEntry
from hub.core.context import HubContext
from hub.core.db import Database
from policies import approvals
from policies.pipeline import Gate
from tests.conftest import Tenancy, TestUser
from tests.policies.conftest import DemoTools

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _invoke(client: httpx.AsyncClient, tool: str, args: object) -> httpx.Response:
    return await client.post(f"/api/v1/tools/{tool}/invoke", json={"args": args, "reason": "because"})


async def test_role_mode_auto_for_admin_approval_for_operator(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database
) -> None:
    admin = client_for(tenancy.admin)
    put = await admin.put("/api/v1/policies/testsrc:restart-service", json={"role_modes": {"admin": "auto"}})
    assert put.status_code == 200, put.text
    policy = put.json()
    assert policy["mode"] == "approval" and policy["classifier_mode"] == "approval"
    assert policy["effective"] == {
        "viewer": "approval",
        "operator": "approval",
        "approver": "approval",
        "admin": "auto",
    }

    done = await _invoke(admin, "restart-service", {"device": "srv-1"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    pending = await _invoke(client_for(tenancy.operator), "restart-service", {"device": "srv-2"})
    assert pending.status_code == 202
    assert demo_tools.ran("restart-service") == [{"device": "srv-1"}]

    async with db.sessionmaker() as s:
        changed = (await s.execute(select(AuditEntry).where(AuditEntry.event == "policy.changed"))).scalars().all()
    assert changed[-1].detail["after"]["role_modes"] == {"admin": "auto"}

    # null drops the role's override; a role may also be stricter than the tool's mode.
    put = await admin.put(
        "/api/v1/policies/testsrc:restart-service", json={"role_modes": {"admin": None, "approver": "never"}}
    )
    assert put.json()["role_modes"] == {"approver": "never"}
    assert (await _invoke(admin, "restart-service", {"device": "srv-3"})).status_code == 202
    refused = await _invoke(client_for(tenancy.approver), "restart-service", {"device": "srv-4"})
    assert refused.status_code == 403
    # A reset drops the role modes with the override.
    reset = await admin.delete("/api/v1/policies/testsrc:restart-service")
    assert reset.json()["role_modes"] == {} and reset.json()["approvals_required"] == 1


async def test_operator_cannot_change_role_modes(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    r = await client_for(tenancy.operator).put(
        "/api/v1/policies/testsrc:restart-service", json={"role_modes": {"operator": "auto"}}
    )
    assert r.status_code == 403
    assert (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "x"})).status_code == 202


async def test_two_person_approval_runs_once_after_two_different_people(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools
) -> None:
    admin = client_for(tenancy.admin)
    put = await admin.put("/api/v1/policies/testsrc:restart-service", json={"approvals_required": 2})
    assert put.json()["approvals_required"] == 2
    args = {"device": "srv-9", "count": 3}
    approval_id = (await _invoke(client_for(tenancy.operator), "restart-service", args)).json()["approval_id"]
    shown = (await admin.get(f"/api/v1/approvals/{approval_id}")).json()
    assert (shown["approvals_required"], shown["approvals_given"]) == (2, 0)

    first = await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={"note": "ok"})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "pending" and first.json()["approvals_given"] == 1
    assert first.json()["first_approver"] == "bob"
    assert demo_tools.ran("restart-service") == []

    again = await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert again.status_code == 403 and "second approval from someone else" in again.json()["message"]
    own = await client_for(tenancy.operator).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert own.status_code == 403

    second = await client_for(tenancy.approver2).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert second.status_code == 200 and second.json()["status"] == "executed"
    assert demo_tools.ran("restart-service") == [args]
    late = await admin.post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert late.status_code == 409
    assert demo_tools.ran("restart-service") == [args]


async def test_requester_is_never_one_of_the_two(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    admin = client_for(tenancy.admin)
    await admin.put("/api/v1/policies/testsrc:restart-service", json={"approvals_required": 2})
    approval_id = (await _invoke(client_for(tenancy.approver), "restart-service", {"device": "a"})).json()[
        "approval_id"
    ]
    own = await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert own.status_code == 403 and "your own request" in own.json()["message"]
    assert (await client_for(tenancy.approver2).post(f"/api/v1/approvals/{approval_id}/approve", json={})).json()[
        "status"
    ] == "pending"
    # The requester still cannot be the second one.
    own = await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert own.status_code == 403
    assert (await admin.post(f"/api/v1/approvals/{approval_id}/approve", json={})).json()["status"] == "executed"
    assert demo_tools.ran("restart-service") == [{"device": "a"}]


async def test_admin_required_among_the_two(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    admin = client_for(tenancy.admin)
    await admin.put("/api/v1/policies/testsrc:restart-service", json={"approvals_required": 2, "admin_required": True})
    approval_id = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "b"})).json()[
        "approval_id"
    ]
    assert (await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})).json()[
        "status"
    ] == "pending"
    no_admin = await client_for(tenancy.approver2).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert no_admin.status_code == 403 and "from an admin" in no_admin.json()["message"]
    assert demo_tools.ran("restart-service") == []
    assert (await admin.post(f"/api/v1/approvals/{approval_id}/approve", json={})).json()["status"] == "executed"


async def test_a_deny_ends_a_half_approved_request(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools
) -> None:
    await client_for(tenancy.admin).put("/api/v1/policies/testsrc:restart-service", json={"approvals_required": 2})
    approval_id = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "c"})).json()[
        "approval_id"
    ]
    await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    denied = await client_for(tenancy.approver2).post(f"/api/v1/approvals/{approval_id}/deny", json={"note": "no"})
    assert denied.json()["status"] == "denied"
    assert (
        await client_for(tenancy.admin).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    ).status_code == 409
    assert demo_tools.calls == []


async def test_concurrent_second_approvals_run_exactly_once(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, hub: HubContext
) -> None:
    """Two people racing to give the second approval: one claim wins, the handler runs once."""
    await client_for(tenancy.admin).put("/api/v1/policies/testsrc:restart-service", json={"approvals_required": 2})
    approval_id = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "d"})).json()[
        "approval_id"
    ]
    await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    answers = await asyncio.gather(
        client_for(tenancy.approver2).post(f"/api/v1/approvals/{approval_id}/approve", json={}),
        client_for(tenancy.admin).post(f"/api/v1/approvals/{approval_id}/approve", json={}),
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.text for a in answers]
    assert demo_tools.ran("restart-service") == [{"device": "d"}]
    async with hub.db.transaction() as s:
        assert await approvals.expire_due(s, hub.components.get(Gate)) == 0


async def test_generic_description_is_stored(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    approval_id = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "srv-7"})).json()[
        "approval_id"
    ]
    shown = (await client_for(tenancy.approver).get(f"/api/v1/approvals/{approval_id}")).json()
    assert shown["description"] == "restart-service (restart-service) with device=srv-7"
    assert shown["description_detail"]["summary"] == shown["description"]
