"""The one pipeline, end to end over REST: auto, approval, never, roles, schema errors, expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from hub.core.audit import AuditEntry
from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from policies import approvals
from policies.models import Approval
from policies.pipeline import Gate
from tests.conftest import Tenancy, TestUser
from tests.policies.conftest import DemoTools

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _invoke(client: httpx.AsyncClient, tool: str, args: object, reason: str = "") -> httpx.Response:
    return await client.post(f"/api/v1/tools/{tool}/invoke", json={"args": args, "reason": reason})


async def _counts(db: Database) -> tuple[int, int]:
    async with db.sessionmaker() as s:
        a = (await s.execute(select(func.count()).select_from(Approval))).scalar_one()
        e = (await s.execute(select(func.count()).select_from(AuditEntry))).scalar_one()
    return a, e


async def test_auto_tool_runs_at_once(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    r = await _invoke(client_for(tenancy.operator), "get-device-info", {"device": "pc-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "done"
    assert body["result"] == {"ok": True, "device": "pc-1", "by": "olga", "approval": None}
    assert demo_tools.ran("get-device-info") == [{"device": "pc-1"}]


async def test_canonical_id_also_resolves(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    r = await _invoke(client_for(tenancy.viewer), "testsrc:get-device-info", {"device": "pc-2"})
    assert r.status_code == 200
    assert demo_tools.ran("get-device-info") == [{"device": "pc-2"}]


async def test_approval_pauses_then_runs_exact_args_once(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools
) -> None:
    args = {"device": "srv-9", "count": 2, "tags": ["b", "a"]}
    r = await _invoke(client_for(tenancy.operator), "restart-service", args, reason="spooler stuck")
    assert r.status_code == 202, r.text
    pending = r.json()
    assert pending["status"] == "pending_approval"
    assert demo_tools.ran("restart-service") == []

    listed = (await client_for(tenancy.approver).get("/api/v1/approvals", params={"status": "pending"})).json()
    assert [a["id"] for a in listed] == [pending["approval_id"]]
    assert listed[0]["reason"] == "spooler stuck" and listed[0]["requester"] == "olga"

    ok = await client_for(tenancy.approver).post(
        f"/api/v1/approvals/{pending['approval_id']}/approve", json={"note": "go"}
    )
    assert ok.status_code == 200, ok.text
    decided = ok.json()
    assert decided["status"] == "executed"
    assert decided["result"]["approval"] == pending["approval_id"]
    assert decided["decided_by"] == "bob" and decided["decision_note"] == "go"
    assert demo_tools.ran("restart-service") == [args]

    again = await client_for(tenancy.approver2).post(f"/api/v1/approvals/{pending['approval_id']}/approve", json={})
    assert again.status_code == 409
    assert "already executed" in again.json()["message"]
    assert demo_tools.ran("restart-service") == [args]


async def test_denied_request_never_runs(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    r = await _invoke(client_for(tenancy.operator), "restart-service", {"device": "srv-1"})
    approval_id = r.json()["approval_id"]
    d = await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/deny", json={"note": "not now"})
    assert d.status_code == 200 and d.json()["status"] == "denied"
    late = await client_for(tenancy.approver2).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert late.status_code == 409
    assert demo_tools.calls == []


async def test_never_refuses_over_rest(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    r = await _invoke(client_for(tenancy.admin), "wipe-device", {"device": "pc-1"})
    assert r.status_code == 403
    assert r.json()["status"] == "refused"
    assert "not allowed by policy" in r.json()["message"]
    assert demo_tools.calls == []


async def test_self_approval_is_refused(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    bob = client_for(tenancy.approver)
    approval_id = (await _invoke(bob, "restart-service", {"device": "srv-1"})).json()["approval_id"]
    own = await bob.post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert own.status_code == 403
    assert "your own request" in own.json()["message"]
    assert demo_tools.calls == []
    other = await client_for(tenancy.approver2).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert other.status_code == 200 and other.json()["status"] == "executed"


async def test_operator_cannot_decide(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    approval_id = (await _invoke(client_for(tenancy.admin), "restart-service", {"device": "x"})).json()["approval_id"]
    r = await client_for(tenancy.operator).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert r.status_code == 403
    assert demo_tools.calls == []


async def test_viewer_cannot_invoke_operator_tool(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    r = await _invoke(client_for(tenancy.viewer), "restart-service", {"device": "srv-1"})
    assert r.status_code == 403
    assert "viewer" in r.json()["message"] and "operator" in r.json()["message"]
    assert demo_tools.calls == []
    assert (await client_for(tenancy.viewer).get("/api/v1/approvals")).json() == []


async def test_expired_approval_cannot_run(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, hub: HubContext, db: Database
) -> None:
    first = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "a"})).json()["approval_id"]
    second = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "b"})).json()["approval_id"]
    async with db.transaction() as s:
        await s.execute(update(Approval).values(expires_at=utcnow() - timedelta(minutes=1)))
    # Approving an expired request refuses and marks it expired, even before the sweep runs.
    late = await client_for(tenancy.approver).post(f"/api/v1/approvals/{first}/approve", json={})
    assert late.status_code == 409 and "expired" in late.json()["message"]
    async with hub.db.transaction() as s:
        assert await approvals.expire_due(s, hub.components.get(Gate)) == 1
    statuses = {a["id"]: a["status"] for a in (await client_for(tenancy.admin).get("/api/v1/approvals")).json()}
    assert statuses == {first: "expired", second: "expired"}
    assert demo_tools.calls == []


async def test_expiry_is_configurable(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, hub: HubContext
) -> None:
    hub.settings.approval_ttl_hours = 2
    body = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "a"})).json()
    approval = (await client_for(tenancy.admin).get(f"/api/v1/approvals/{body['approval_id']}")).json()
    from datetime import datetime

    span = datetime.fromisoformat(approval["expires_at"]) - datetime.fromisoformat(approval["created_at"])
    assert span == timedelta(hours=2)


async def test_schema_mismatch_is_422_with_path_and_changes_nothing(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database
) -> None:
    before = await _counts(db)
    client = client_for(tenancy.operator)
    r = await _invoke(client, "restart-service", {"device": "a", "count": 99})
    assert r.status_code == 422
    assert r.json()["path"] == "$.count" and "99" in r.json()["message"]
    r = await _invoke(client, "restart-service", {"device": "a", "tags": ["ok", 5]})
    assert r.status_code == 422 and r.json()["path"] == "$.tags[1]"
    r = await _invoke(client, "restart-service", {"device": "a", "surprise": True})
    assert r.status_code == 422 and "surprise" in r.json()["message"]
    r = await _invoke(client, "restart-service", {})
    assert r.status_code == 422 and "device" in r.json()["message"]
    assert await _counts(db) == before
    assert demo_tools.calls == []


async def test_bad_json_is_422_with_clear_message(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database
) -> None:
    before = await _counts(db)
    client = client_for(tenancy.operator)
    r = await client.post(
        "/api/v1/tools/restart-service/invoke",
        content=b'{"args": {"device": ',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert "JSON" in r.json()["message"]
    r = await client.post("/api/v1/tools/restart-service/invoke", json={"args": "not-an-object"})
    assert r.status_code == 422 and "args" in r.json()["message"]
    r = await client.post("/api/v1/tools/restart-service/invoke", json={"arguments": {}})
    assert r.status_code == 422 and "arguments" in r.json()["message"]
    assert await _counts(db) == before


async def test_unknown_tool_is_404(tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools) -> None:
    r = await _invoke(client_for(tenancy.operator), "no-such-tool", {})
    assert r.status_code == 404 and "no tool named" in r.json()["message"]


async def test_handler_error_is_reported_and_audited(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools
) -> None:
    r = await _invoke(client_for(tenancy.operator), "get-device-info", {"device": "explode"})
    assert r.status_code == 400
    assert r.json() == {
        "status": "failed",
        "tool": "testsrc:get-device-info",
        "message": "device explode refused the command",
    }
    audit = (await client_for(tenancy.admin).get("/api/v1/audit", params={"event": "tool.failed"})).json()
    assert audit[0]["detail"]["error"] == "device explode refused the command"


async def test_altered_approval_args_are_not_run(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database
) -> None:
    approval_id = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "a"})).json()[
        "approval_id"
    ]
    async with db.transaction() as s:
        await s.execute(update(Approval).where(Approval.id == approval_id).values(args={"device": "everything"}))
    r = await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert r.status_code == 200
    assert r.json()["status"] == "failed" and "no longer match their hash" in r.json()["error"]
    assert demo_tools.calls == []


async def test_removed_tool_fails_its_approval_clearly(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, hub: HubContext
) -> None:
    approval_id = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "a"})).json()[
        "approval_id"
    ]
    hub.registry.unregister("testsrc:restart-service")
    r = await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    assert r.json()["status"] == "failed" and "no tool named" in r.json()["error"]
    assert demo_tools.calls == []


async def test_fail_pending_for_removed_tool(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, hub: HubContext
) -> None:
    approval_id = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "a"})).json()[
        "approval_id"
    ]
    async with hub.db.transaction() as s:
        n = await approvals.fail_pending_for_tool(
            s,
            hub.components.get(Gate),
            org_id=tenancy.org_id,
            tool_id="testsrc:restart-service",
            why="script was removed",
        )
    assert n == 1
    a = (await client_for(tenancy.admin).get(f"/api/v1/approvals/{approval_id}")).json()
    assert a["status"] == "failed" and a["error"] == "script was removed"


async def test_every_step_is_audited(
    tenancy: Tenancy, client_for: Clients, demo_tools: DemoTools, db: Database
) -> None:
    approval_id = (await _invoke(client_for(tenancy.operator), "restart-service", {"device": "a"})).json()[
        "approval_id"
    ]
    await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
    await _invoke(client_for(tenancy.operator), "wipe-device", {"device": "a"})
    entries = [e for e in (await client_for(tenancy.admin).get("/api/v1/audit")).json() if e["tool"]]
    events = [e["event"] for e in reversed(entries)]
    assert events == [
        "tool.requested",
        "approval.requested",
        "approval.approved",
        "tool.executed",
        "tool.requested",
        "tool.refused",
    ]
    assert all(e["seq"] is not None and e["hash"] for e in entries), "entries are sealed after commit"
    assert entries[-1]["args_sha256"] == entries[-3]["args_sha256"]
