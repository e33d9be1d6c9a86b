"""An approval runs against today's rules (issue 8 items 1 and 2): policy, requester and approver are
re-checked when it runs, and its arguments are bound by a keyed digest.

Each test reproduces an attack or a careless-admin path from the issue; all ran the tool before.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import httpx
from sqlalchemy import select, update

from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.jsonutil import sha256_of
from hub.core.models import User
from hub.core.roles import Role
from policies import approvals
from policies.digest import request_digest
from policies.models import Approval, PolicyMode, ToolPolicy
from policies.pipeline import Gate
from tests.conftest import SECRET, Tenancy, TestUser
from tests.policies.conftest import DemoTools

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _request(client: httpx.AsyncClient, args: dict[str, object] | None = None) -> int:
    r = await client.post("/api/v1/tools/restart-service/invoke", json={"args": args or {"device": "srv-1"}})
    assert r.status_code == 202, r.text
    approval_id: int = r.json()["approval_id"]
    return approval_id


async def _approve(client_for: Clients, tenancy: Tenancy, approval_id: int) -> httpx.Response:
    return await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RMMHUB_DATABASE_URL": database_url, "RMMHUB_SECRET_KEY": SECRET}
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=env, capture_output=True, text=True, timeout=60)


# -- item 1: policy -------------------------------------------------------------------------------


async def test_setting_never_fails_pending_approvals_at_once(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools
) -> None:
    approval_id = await _request(client_for(tenancy.operator))
    put = await client_for(tenancy.admin).put("/api/v1/policies/restart-service", json={"mode": "never"})
    assert put.status_code == 200, put.text
    failed = (await client_for(tenancy.admin).get(f"/api/v1/approvals/{approval_id}")).json()
    assert failed["status"] == "failed"
    assert "restart-service was set to never by policy" in failed["error"] and "can no longer run" in failed["error"]
    late = await _approve(client_for, tenancy, approval_id)
    assert late.status_code == 409 and "already failed" in late.json()["message"]
    assert demo_tools.calls == []
    events = [e["event"] for e in (await client_for(tenancy.admin).get("/api/v1/audit")).json()]
    assert "approval.failed" in events


async def test_policy_changed_behind_the_gates_back_is_rechecked_at_run_time(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database
) -> None:
    """Even when the policy row changes without the service (a replica, a restore, SQL), nothing runs."""
    approval_id = await _request(client_for(tenancy.operator))
    async with db.transaction() as s:
        await s.execute(
            update(ToolPolicy).where(ToolPolicy.tool_id == "testsrc:restart-service").values(mode=PolicyMode.NEVER)
        )
    r = await _approve(client_for, tenancy, approval_id)
    assert r.status_code == 200
    assert r.json()["status"] == "failed" and "restart-service is now not allowed by policy" in r.json()["error"]
    assert demo_tools.calls == []


# -- item 1: requester ----------------------------------------------------------------------------


async def test_cli_disable_fails_pending_and_stops_tokens(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, app: object, database_url: str
) -> None:
    olga = client_for(tenancy.operator)
    approval_id = await _request(olga)
    done = _cli(database_url, "user", "disable", "olga")
    assert done.returncode == 0, done.stderr
    assert "failed 1 pending approval" in done.stdout
    failed = (await client_for(tenancy.admin).get(f"/api/v1/approvals/{approval_id}")).json()
    assert failed["status"] == "failed" and failed["error"].startswith("requester disabled")
    assert (await _approve(client_for, tenancy, approval_id)).status_code == 409
    assert (await olga.get("/api/v1/me")).status_code == 401
    assert demo_tools.calls == []


async def test_ui_disable_fails_pending(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, anon: httpx.AsyncClient
) -> None:
    approval_id = await _request(client_for(tenancy.operator))
    login = await anon.post("/api/v1/auth/login", json={"username": "alice", "password": tenancy.admin.password})
    csrf = login.json()["csrf_token"]
    r = await anon.post(f"/admin/users/{tenancy.operator.id}/disabled", data={"disabled": "true", "csrf_token": csrf})
    assert r.status_code == 200, r.text
    assert "1 pending approval(s) failed" in r.text
    failed = (await client_for(tenancy.admin).get(f"/api/v1/approvals/{approval_id}")).json()
    assert failed["status"] == "failed" and failed["error"].startswith("requester disabled")
    assert demo_tools.calls == []


async def test_ui_demotion_fails_pending(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, anon: httpx.AsyncClient
) -> None:
    approval_id = await _request(client_for(tenancy.operator))
    login = await anon.post("/api/v1/auth/login", json={"username": "alice", "password": tenancy.admin.password})
    csrf = login.json()["csrf_token"]
    r = await anon.post(f"/admin/users/{tenancy.operator.id}/role", data={"role": "viewer", "csrf_token": csrf})
    assert r.status_code == 200, r.text
    assert "olga is now viewer. 1 pending approval(s) failed." in r.text
    failed = (await client_for(tenancy.admin).get(f"/api/v1/approvals/{approval_id}")).json()
    assert failed["status"] == "failed" and failed["error"].startswith("requester demoted: olga is now viewer")
    me = (await client_for(tenancy.operator).get("/api/v1/me")).json()
    assert me["role"] == "viewer"
    assert demo_tools.calls == []


async def test_requester_disabled_behind_the_gates_back_is_rechecked_at_run_time(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database
) -> None:
    approval_id = await _request(client_for(tenancy.operator))
    async with db.transaction() as s:
        await s.execute(update(User).where(User.id == tenancy.operator.id).values(disabled=True))
    r = await _approve(client_for, tenancy, approval_id)
    assert r.json()["status"] == "failed" and "requester disabled (olga)" in r.json()["error"]
    assert demo_tools.calls == []


async def test_demotion_fails_pending_and_is_rechecked_at_run_time(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database, app: object, database_url: str
) -> None:
    first = await _request(client_for(tenancy.operator))
    done = _cli(database_url, "user", "role", "olga", "viewer")
    assert done.returncode == 0, done.stderr
    failed = (await client_for(tenancy.admin).get(f"/api/v1/approvals/{first}")).json()
    assert failed["status"] == "failed" and failed["error"].startswith("requester demoted: olga is now viewer")

    async with db.transaction() as s:  # back to operator, ask again, then demote without the service
        await s.execute(update(User).where(User.id == tenancy.operator.id).values(role=Role.OPERATOR))
    second = await _request(client_for(tenancy.operator))
    async with db.transaction() as s:
        await s.execute(update(User).where(User.id == tenancy.operator.id).values(role=Role.VIEWER))
    r = await _approve(client_for, tenancy, second)
    assert r.json()["status"] == "failed"
    assert "olga is now viewer and restart-service needs operator" in r.json()["error"]
    assert demo_tools.calls == []


async def test_promotion_keeps_pending_approvals(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, app: object, database_url: str
) -> None:
    approval_id = await _request(client_for(tenancy.operator))
    assert _cli(database_url, "user", "role", "olga", "approver").returncode == 0
    r = await _approve(client_for, tenancy, approval_id)
    assert r.json()["status"] == "executed"
    assert demo_tools.ran("restart-service") == [{"device": "srv-1"}]


# -- item 1: approver -----------------------------------------------------------------------------


async def test_disabled_or_demoted_approver_cannot_run_it(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, hub: HubContext, db: Database
) -> None:
    """An approver's caller built before they lost access (a long-lived page, a queued decision) runs nothing."""
    approver = Caller(
        user_id=tenancy.approver.id, label="bob", role=Role.APPROVER, org_id=tenancy.org_id, kind=CallerKind.UI
    )
    for change in ({"disabled": True}, {"disabled": False, "role": Role.OPERATOR}):
        approval_id = await _request(client_for(tenancy.operator))
        async with db.transaction() as s:
            await s.execute(update(User).where(User.id == tenancy.approver.id).values(**change))
        async with hub.db.transaction() as s:
            decided = await approvals.approve(s, hub.components.get(Gate), approver=approver, approval_id=approval_id)
        assert decided.status.value == "failed"
        assert decided.error is not None and "approver bob is disabled or no longer an approver" in decided.error
    assert demo_tools.calls == []


# -- item 2: keyed digest -------------------------------------------------------------------------


async def test_digest_is_an_hmac_not_a_plain_hash(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database
) -> None:
    approval_id = await _request(client_for(tenancy.operator), {"device": "srv-2"})
    async with db.sessionmaker() as s:
        approval = await s.get(Approval, approval_id)
    assert approval is not None
    assert approval.args_digest != sha256_of(approval.args)
    expected = request_digest(
        SECRET,
        org_id=tenancy.org_id,
        tool_id="testsrc:restart-service",
        via_tool_id=None,
        requester_user_id=tenancy.operator.id,
        on_behalf_of_user_id=None,
        args={"device": "srv-2"},
    )
    assert approval.args_digest == expected
    shown = (await client_for(tenancy.admin).get(f"/api/v1/approvals/{approval_id}")).json()
    assert shown["args_digest"] == expected and "args_sha256" not in shown


async def test_rewriting_args_and_digest_in_the_database_is_refused(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database
) -> None:
    """The reproduction: args and their digest both rewritten (as a plain SHA-256 would allow) -> not run."""
    forged_args = {"device": "TAMPERED-WITH-HASH"}
    wrong_key = request_digest(
        "another-secret-key-" + "y" * 40,
        org_id=tenancy.org_id,
        tool_id="testsrc:restart-service",
        via_tool_id=None,
        requester_user_id=tenancy.operator.id,
        on_behalf_of_user_id=None,
        args=forged_args,
    )
    for forged_digest in (sha256_of(forged_args), wrong_key):
        approval_id = await _request(client_for(tenancy.operator))
        async with db.transaction() as s:
            await s.execute(
                update(Approval).where(Approval.id == approval_id).values(args=forged_args, args_digest=forged_digest)
            )
        r = await _approve(client_for, tenancy, approval_id)
        assert r.json()["status"] == "failed" and "no longer match their hash" in r.json()["error"]
    assert demo_tools.calls == []


async def test_swapping_the_tool_or_requester_of_an_approval_is_refused(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database
) -> None:
    for change in ({"tool_id": "testsrc:wipe-device"}, {"requester_user_id": tenancy.admin.id}):
        approval_id = await _request(client_for(tenancy.operator))
        async with db.transaction() as s:
            await s.execute(update(Approval).where(Approval.id == approval_id).values(**change))
        r = await _approve(client_for, tenancy, approval_id)
        assert r.json()["status"] == "failed" and "no longer match their hash" in r.json()["error"]
    assert demo_tools.calls == []
    async with db.sessionmaker() as s:
        statuses = set((await s.execute(select(Approval.status))).scalars())
    assert {st.value for st in statuses} == {"failed"}
