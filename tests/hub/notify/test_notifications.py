"""Notification channels end to end: real SMTP and a real signed-webhook receiver on loopback.

Delivery runs are driven with an explicit ``now`` (the job's clock) so back-off and the per-minute
budget are exercised without waiting; nothing here sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from hub.core.db import Database, create_cli_engine, utcnow
from hub.core.notify import service
from hub.core.notify.delivery import backoff, deliver_due
from hub.core.notify.models import DeliveryStatus, NotificationChannel, OutboxMessage
from hub.core.settings import Settings
from tests.conftest import Tenancy, TestUser
from tests.hub.notify.conftest import Inbox, Receiver


async def _webhook(client: httpx.AsyncClient, receiver: Receiver, *, per_minute: int = 10) -> int:
    resp = await client.post("/api/v1/notifications/channels",
                             json={"name": "ops hook", "kind": "webhook", "url": receiver.url, "per_minute": per_minute})  # fmt: skip
    assert resp.status_code == 201, resp.text
    body = resp.json()
    receiver.secret = body["signing_secret"]
    assert receiver.secret and len(receiver.secret) >= 32
    return int(body["channel"]["id"])


async def _enqueue(db: Database, org_id: int, channel_id: int, n: int, start: int = 0) -> None:
    async with db.transaction() as session:
        for i in range(start, start + n):
            await service.enqueue(session, org_id=org_id, channel_id=channel_id, topic="alert.raised",
                                  subject=f"alert {i}", body=f"CPU high on host-{i}")  # fmt: skip


async def test_email_channel_test_button_over_real_smtp(
    smtp_server: tuple[object, Inbox],
    client_for: Callable[[TestUser], httpx.AsyncClient],
    tenancy: Tenancy,
    db: Database,
) -> None:
    controller, inbox = smtp_server
    admin = client_for(tenancy.admin)
    resp = await admin.post("/api/v1/notifications/channels", json={
        "name": "noc mail", "kind": "email", "password": "s3cret",
        "email": {"host": "127.0.0.1", "port": controller.port, "security": "none", "username": "mailer",  # type: ignore[attr-defined]
                  "sender": "rmmhub@example.test", "recipients": ["noc@example.test"]},
    })  # fmt: skip
    assert resp.status_code == 201, resp.text
    assert resp.json()["signing_secret"] is None
    channel_id = resp.json()["channel"]["id"]
    async with db.transaction() as session:
        row = await session.get(NotificationChannel, channel_id)
        assert row is not None and row.secret_enc and "s3cret" not in row.secret_enc  # encrypted at rest
    resp = await admin.post(f"/api/v1/notifications/channels/{channel_id}/test")
    assert resp.status_code == 200 and resp.json()["status"] == "delivered", resp.text
    assert inbox.logins == [("mailer", "s3cret")]
    assert len(inbox.messages) == 1 and b"Subject: rmmhub test message for noc mail" in inbox.messages[0]
    # An operator cannot see or change channels.
    assert (await client_for(tenancy.operator).get("/api/v1/notifications/channels")).status_code == 403


async def test_wrong_smtp_password_is_logged_not_raised(
    smtp_server: tuple[object, Inbox], client_for: Callable[[TestUser], httpx.AsyncClient], tenancy: Tenancy
) -> None:
    controller, inbox = smtp_server
    admin = client_for(tenancy.admin)
    resp = await admin.post("/api/v1/notifications/channels", json={
        "name": "bad mail", "kind": "email", "password": "wrong",
        "email": {"host": "127.0.0.1", "port": controller.port, "security": "none", "username": "mailer",  # type: ignore[attr-defined]
                  "sender": "rmmhub@example.test", "recipients": ["noc@example.test"]},
    })  # fmt: skip
    resp = await admin.post(f"/api/v1/notifications/channels/{resp.json()['channel']['id']}/test")
    assert resp.json()["status"] == "failed"
    assert "refused the credentials" in resp.json()["last_error"]
    assert inbox.messages == []
    log = (await admin.get("/api/v1/notifications/deliveries")).json()
    assert [d["status"] for d in log] == ["failed"]


async def test_bad_channel_input_is_a_clear_422(
    client_for: Callable[[TestUser], httpx.AsyncClient], tenancy: Tenancy
) -> None:
    admin = client_for(tenancy.admin)
    resp = await admin.post("/api/v1/notifications/channels", json={"name": "x", "kind": "slack"})
    assert resp.status_code == 422
    assert "needs the URL" in resp.text


async def test_webhook_is_signed_and_secret_shown_once(
    webhook_receiver: Receiver,
    client_for: Callable[[TestUser], httpx.AsyncClient],
    tenancy: Tenancy,
    db: Database,
    settings: Settings,
) -> None:
    admin = client_for(tenancy.admin)
    channel_id = await _webhook(admin, webhook_receiver)
    listed = (await admin.get("/api/v1/notifications/channels")).text
    assert webhook_receiver.secret not in listed
    await _enqueue(db, tenancy.org_id, channel_id, 1)
    report = await deliver_due(db, settings.secret)
    assert report.delivered == 1
    assert webhook_receiver.bad_signatures == 0
    assert webhook_receiver.received == [
        {"topic": "alert.raised", "subject": "alert 0", "body": "CPU high on host-0", "link": None, "count": 1}
    ]
    # A receiver holding another secret rejects the signature; the hub keeps the row for a retry.
    webhook_receiver.secret = "not-the-secret"
    await _enqueue(db, tenancy.org_id, channel_id, 1, start=1)
    assert (await deliver_due(db, settings.secret)).failed == 1
    assert webhook_receiver.bad_signatures == 1


async def test_failing_webhook_retried_after_restart_and_delivered(
    webhook_receiver: Receiver,
    client_for: Callable[[TestUser], httpx.AsyncClient],
    tenancy: Tenancy,
    db: Database,
    settings: Settings,
) -> None:
    channel_id = await _webhook(client_for(tenancy.admin), webhook_receiver)
    await _enqueue(db, tenancy.org_id, channel_id, 3)
    webhook_receiver.failing = True
    now = utcnow()
    assert (await deliver_due(db, settings.secret, now=now)).failed == 3
    # Not due again before its back-off.
    assert (await deliver_due(db, settings.secret, now=now + backoff(1) - timedelta(seconds=1))).failed == 0
    now += backoff(1)
    assert (await deliver_due(db, settings.secret, now=now)).failed == 3
    webhook_receiver.failing = False
    # "Restart": a fresh database handle; the outbox is all there is.
    fresh = Database(create_cli_engine(settings.database_url), secret_key=settings.secret)
    try:
        report = await deliver_due(fresh, settings.secret, now=now + backoff(2))
    finally:
        await fresh.dispose()
    assert report.delivered == 3
    assert webhook_receiver.refused == 6
    assert sorted(r["subject"] for r in webhook_receiver.received) == ["alert 0", "alert 1", "alert 2"]
    async with db.transaction() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert {(r.status, r.attempts) for r in rows} == {(DeliveryStatus.DELIVERED, 3)}


async def test_alert_storm_becomes_bounded_digests(
    webhook_receiver: Receiver,
    client_for: Callable[[TestUser], httpx.AsyncClient],
    tenancy: Tenancy,
    db: Database,
    settings: Settings,
) -> None:
    per_minute = 5
    channel_id = await _webhook(client_for(tenancy.admin), webhook_receiver, per_minute=per_minute)
    start = utcnow()
    for step in range(10):  # 1,000 alerts within one minute, the job running every 6 s
        await _enqueue(db, tenancy.org_id, channel_id, 100, start=step * 100)
        await deliver_due(db, settings.secret, now=start + timedelta(seconds=6 * step))
    sent_in_first_minute = len(webhook_receiver.received)
    now = start + timedelta(seconds=61)
    for _ in range(5):  # drain: the backlog goes out when the window frees
        await deliver_due(db, settings.secret, now=now)
        now += timedelta(seconds=61)
    async with db.transaction() as session:
        pending = await session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.status == DeliveryStatus.PENDING)
        )
    total_sent = len(webhook_receiver.received)
    represented = sum(r["count"] for r in webhook_receiver.received)
    print(f"1000 alerts -> {sent_in_first_minute} notifications in the first minute, {total_sent} in all")
    assert pending == 0
    assert sent_in_first_minute <= per_minute
    assert total_sent <= 2 * per_minute
    assert represented == 1000  # nothing lost: every alert is in a message or a digest
    assert any(r["count"] > 1 and "digest" in r["subject"] for r in webhook_receiver.received)
