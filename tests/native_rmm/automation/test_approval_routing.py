"""Approval routing: approvers told of a request (webhook, email with the link), reminded before expiry,
the requester told the decision at their own address; each notice once. Real SMTP and webhook on loopback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.models import User
from hub.core.notify.delivery import deliver_due
from hub.core.settings import Settings
from native_rmm.automation.approval_routing import ApprovalRouter
from policies.models import Approval
from tests.conftest import Tenancy, TestUser
from tests.hub.notify.conftest import Inbox, Receiver
from tests.native_rmm.conftest import make_device


async def test_request_reminder_and_decision_are_routed_once(
    hub: HubContext,
    db: Database,
    settings: Settings,
    tenancy: Tenancy,
    client_for: Callable[[TestUser], httpx.AsyncClient],
    webhook_receiver: Receiver,
    smtp_server: tuple[Controller, Inbox],
) -> None:
    controller, inbox = smtp_server
    admin, operator, approver = client_for(tenancy.admin), client_for(tenancy.operator), client_for(tenancy.approver)
    hook = (
        await admin.post(
            "/api/v1/notifications/channels",
            json={"name": "approvals hook", "kind": "webhook", "url": webhook_receiver.url, "approvals": True},
        )
    ).json()
    webhook_receiver.secret = hook["signing_secret"]
    mail = await admin.post(
        "/api/v1/notifications/channels",
        json={
            "name": "approvers mail",
            "kind": "email",
            "approvals": True,
            "email": {
                "host": "127.0.0.1",
                "port": controller.port,
                "security": "none",
                "sender": "rmmhub@example.test",
                "recipients": ["approvers@example.test"],
            },
        },
    )
    assert mail.status_code == 201, mail.text
    await admin.post(
        "/api/v1/notifications/channels", json={"name": "alerts only", "kind": "slack", "url": webhook_receiver.url}
    )
    async with db.transaction() as session:
        await session.execute(update(User).where(User.id == tenancy.operator.id).values(email="olga@example.test"))
    device_id = await make_device(db, tenancy.org_id)
    asked = (
        await operator.post(
            "/api/v1/tools/rmm-run-command/invoke",
            json={"args": {"device": device_id, "command": "systemctl restart nginx"}, "reason": "nginx is stuck"},
        )
    ).json()
    assert asked["status"] == "pending_approval"
    router = hub.components.get(ApprovalRouter)

    assert await router.tick() == 1
    assert await router.tick() == 0  # once
    await deliver_due(db, settings.secret)
    (requested,) = webhook_receiver.received
    assert requested["topic"] == "approval.requested" and "nginx is stuck" in requested["body"]
    assert requested["link"].endswith(f"/policies?tab=approvals#approval-{asked['approval_id']}")
    assert b"Approval #1 requested: rmm-run-command by olga" in inbox.messages[0]
    assert b"approvers@example.test" in inbox.messages[0] and b"olga@example.test" not in inbox.messages[0]

    async with db.sessionmaker() as session:
        approval = (await session.scalars(select(Approval))).one()
    assert await router.tick(now=approval.expires_at - timedelta(minutes=30)) == 1
    await deliver_due(db, settings.secret, now=approval.expires_at - timedelta(minutes=30))
    assert webhook_receiver.received[-1]["topic"] == "approval.reminder"

    decided = await approver.post(f"/api/v1/approvals/{asked['approval_id']}/approve", json={"note": "go"})
    assert decided.status_code == 200, decided.text
    assert await router.tick() == 1
    await deliver_due(db, settings.secret)
    last: dict[str, Any] = webhook_receiver.received[-1]
    assert last["topic"] == "approval.decided" and "bob decided: executed" in last["body"]
    told = inbox.messages[-1]
    assert b"olga@example.test" in told and b"Approval #1 executed" in told  # the requester is told
    assert len(webhook_receiver.received) == 3 and webhook_receiver.bad_signatures == 0
