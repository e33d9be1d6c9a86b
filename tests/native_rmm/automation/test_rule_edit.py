"""Editing and pausing alert rules through the gate: an edit is a write that asks for approval under its
seeded policy (a rule's new actions may run scripts), the editor becomes the rule's owner, and pausing
(non-destructive) runs at once."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from hub.core.caller import Caller, CallerKind
from hub.core.db import Database
from hub.core.roles import Role
from native_rmm.automation import service
from native_rmm.automation.schemas import RuleIn, RuleMatch, TicketAction
from native_rmm.models.automation import AlertRule
from tests.conftest import Tenancy, TestUser

Clients = Callable[[TestUser], httpx.AsyncClient]


async def test_edit_asks_for_approval_and_the_editor_becomes_owner(
    client_for: Clients, tenancy: Tenancy, db: Database
) -> None:
    admin = Caller(user_id=tenancy.admin.id, label="alice", role=Role.ADMIN, org_id=tenancy.org_id, kind=CallerKind.UI)
    async with db.transaction() as session:
        rule = await service.create_rule(
            session, actor=admin, data=RuleIn(name="disk", match=RuleMatch(), actions=[TicketAction()])
        )
        rule.owner_user_id = tenancy.approver.id  # as if another person had set it up
    alice = client_for(tenancy.admin)
    args = {
        "rule_id": rule.id,
        "name": "disk, and restart",
        "match": {"severities": ["critical"]},
        "actions": [{"kind": "script", "script": "restart-service"}],
    }
    r = await alice.post("/api/v1/tools/rmm-update-alert-rule/invoke", json={"args": args, "reason": "test"})
    assert r.status_code == 202 and r.json()["status"] == "pending_approval", r.text
    async with db.transaction() as session:
        stored = await session.get(AlertRule, rule.id)
        assert stored is not None and stored.name == "disk" and stored.owner_user_id == tenancy.approver.id
    approved = await client_for(tenancy.approver2).post(f"/api/v1/approvals/{r.json()['approval_id']}/approve", json={})
    assert approved.status_code == 200 and approved.json()["status"] == "executed", approved.text
    async with db.transaction() as session:
        stored = await session.get(AlertRule, rule.id)
        assert stored is not None and stored.name == "disk, and restart"
        assert stored.owner_user_id == tenancy.admin.id  # acts on behalf of the person who chose the new actions
        assert stored.actions[0]["kind"] == "script"

    paused = await alice.post(
        "/api/v1/tools/rmm-pause-alert-rule/invoke", json={"args": {"rule_id": rule.id}, "reason": "test"}
    )
    assert paused.status_code == 200 and paused.json()["result"]["enabled"] is False, paused.text
    # Bad input is a 422 naming the field.
    bad = await alice.post(
        "/api/v1/tools/rmm-update-alert-rule/invoke",
        json={"args": args | {"actions": [{"kind": "script", "script": "x", "max_attempts": 0}]}},
    )
    assert bad.status_code == 422 and "max_attempts" in bad.text
    viewer = await client_for(tenancy.viewer).post(
        "/api/v1/tools/rmm-pause-alert-rule/invoke", json={"args": {"rule_id": rule.id}}
    )
    assert viewer.status_code == 403
