"""Editing notification channels over REST: host, port, TLS mode and credentials of an email channel (a blank
password keeps the stored one), a webhook's URL (its signing secret kept) and the rotation of that secret,
shown once; a receiver holding the old secret then rejects the signature. Real aiosmtpd and a real
signature-checking receiver on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from hub.core.db import Database
from hub.core.notify.models import NotificationChannel
from tests.conftest import Tenancy, TestUser
from tests.hub.notify.conftest import Inbox, Receiver

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _ok(response: httpx.Response, code: int = 200) -> Any:
    assert response.status_code == code, response.text
    return response.json()


async def test_email_channel_edit_keeps_a_blank_password(
    smtp_server: tuple[Controller, Inbox], client_for: Clients, tenancy: Tenancy, db: Database
) -> None:
    controller, inbox = smtp_server
    admin = client_for(tenancy.admin)
    email = {
        "host": "192.0.2.1",  # TEST-NET: wrong on purpose, fixed by the edit
        "port": 2525,
        "security": "starttls",
        "username": "mailer",
        "sender": "rmmhub@example.test",
        "recipients": ["noc@example.test"],
    }
    created = await _ok(
        await admin.post(
            "/api/v1/notifications/channels",
            json={"name": "noc mail", "kind": "email", "password": "s3cret", "email": email},
        ),
        201,
    )
    channel_id = created["channel"]["id"]
    async with db.transaction() as session:
        row = await session.get(NotificationChannel, channel_id)
        assert row is not None
        stored = row.secret_enc
    shown = await _ok(await admin.get(f"/api/v1/notifications/channels/{channel_id}"))
    assert shown["has_secret"] is True and "s3cret" not in str(shown) and "password" not in shown
    assert shown["email"]["host"] == "192.0.2.1"

    fixed = shown["email"] | {"host": "127.0.0.1", "port": controller.port, "security": "none"}
    edit = {"name": "noc mail (fixed)", "email": fixed, "password": "", "per_minute": 20, "approvals": True}
    answer = await _ok(await admin.put(f"/api/v1/notifications/channels/{channel_id}", json=edit))
    assert answer["signing_secret"] is None
    assert answer["channel"]["target"] == f"127.0.0.1:{controller.port} -> noc@example.test"
    assert answer["channel"]["name"] == "noc mail (fixed)" and answer["channel"]["per_minute"] == 20
    async with db.transaction() as session:
        row = await session.get(NotificationChannel, channel_id)
        assert row is not None and row.secret_enc == stored  # blank password: the stored one is kept
    sent = await _ok(await admin.post(f"/api/v1/notifications/channels/{channel_id}/test"))
    assert sent["status"] == "delivered", sent
    assert inbox.logins == [("mailer", "s3cret")]

    # A new password replaces it (and a wrong one is what the server now sees).
    await _ok(await admin.put(f"/api/v1/notifications/channels/{channel_id}", json=edit | {"password": "other"}))
    sent = await _ok(await admin.post(f"/api/v1/notifications/channels/{channel_id}/test"))
    assert sent["status"] == "failed" and "refused the credentials" in sent["last_error"]
    assert inbox.logins[-1] == ("mailer", "other")

    # Settings of another kind are a clear 422, and an operator cannot edit at all.
    wrong = await admin.put(
        f"/api/v1/notifications/channels/{channel_id}", json={"name": "x", "url": "http://127.0.0.1:1/hook"}
    )
    assert wrong.status_code == 422 and "needs its SMTP settings" in wrong.text
    assert (
        await client_for(tenancy.operator).put(f"/api/v1/notifications/channels/{channel_id}", json=edit)
    ).status_code == 403


async def test_webhook_url_edit_keeps_the_secret_and_rotation_shows_a_new_one_once(
    webhook_receiver: Receiver, client_for: Clients, tenancy: Tenancy
) -> None:
    admin = client_for(tenancy.admin)
    created = await _ok(
        await admin.post(
            "/api/v1/notifications/channels",
            json={"name": "ops hook", "kind": "webhook", "url": "http://127.0.0.1:9/old"},
        ),
        201,
    )
    channel_id, first = created["channel"]["id"], created["signing_secret"]
    webhook_receiver.secret = first
    moved = await _ok(
        await admin.put(
            f"/api/v1/notifications/channels/{channel_id}", json={"name": "ops hook", "url": webhook_receiver.url}
        )
    )
    assert moved["signing_secret"] is None  # kept, not shown again
    assert (await _ok(await admin.post(f"/api/v1/notifications/channels/{channel_id}/test")))["status"] == "delivered"
    assert webhook_receiver.bad_signatures == 0 and len(webhook_receiver.received) == 1

    rotated = await _ok(
        await admin.put(
            f"/api/v1/notifications/channels/{channel_id}",
            json={"name": "ops hook", "url": webhook_receiver.url, "rotate_secret": True},
        )
    )
    second = rotated["signing_secret"]
    assert second and second != first and len(second) >= 32
    assert second not in (await admin.get(f"/api/v1/notifications/channels/{channel_id}")).text
    # The receiver still holds the old secret: it rejects the signature until it learns the new one.
    failed = await _ok(await admin.post(f"/api/v1/notifications/channels/{channel_id}/test"))
    assert failed["status"] == "failed" and webhook_receiver.bad_signatures == 1
    webhook_receiver.secret = second
    assert (await _ok(await admin.post(f"/api/v1/notifications/channels/{channel_id}/test")))["status"] == "delivered"
    assert len(webhook_receiver.received) == 2

    slack = await _ok(
        await admin.post(
            "/api/v1/notifications/channels",
            json={"name": "slack", "kind": "slack", "url": "http://127.0.0.1:9/slack"},
        ),
        201,
    )
    refused = await admin.put(
        f"/api/v1/notifications/channels/{slack['channel']['id']}",
        json={"name": "slack", "url": "http://127.0.0.1:9/slack", "rotate_secret": True},
    )
    assert refused.status_code == 422 and "no signing secret" in refused.text
