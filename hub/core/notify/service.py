"""Channels (create, list, delete) and the outbox's front door, :func:`enqueue`. Flushes, never commits."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import AuditEvent
from hub.core.caller import Caller
from hub.core.db import get_in_org, utcnow
from hub.core.errors import Conflict, NotFound
from hub.core.notify.models import ChannelKind, DeliveryStatus, NotificationChannel, OutboxMessage
from hub.core.notify.schemas import ChannelIn, ChannelOut, CreatedChannel
from hub.core.notify.senders import DeliveryError, Message, deliver
from hub.core.security import SecretBox, SecretDecryptionError
from hub.core.uow import scope_of


def secret_box(session: AsyncSession) -> SecretBox:
    """The box that encrypts channel secrets (keyed from the hub secret the session belongs to)."""
    return SecretBox(scope_of(session).secret_key)


async def create_channel(session: AsyncSession, *, actor: Caller, data: ChannelIn) -> CreatedChannel:
    """Create a channel; a webhook channel gets a fresh signing secret, returned this once."""
    existing = await session.scalar(
        select(NotificationChannel.id).where(
            NotificationChannel.org_id == actor.org_id, NotificationChannel.name == data.name
        )
    )
    if existing is not None:
        raise Conflict(f"a channel named {data.name!r} exists already; pick another name")
    box = secret_box(session)
    signing: str | None = None
    if data.kind is ChannelKind.EMAIL:
        assert data.email is not None
        config = data.email.model_dump()
        secret = box.encrypt(data.password) if data.password else None
    else:
        config = {"url": str(data.url)}
        signing = secrets.token_urlsafe(32) if data.kind is ChannelKind.WEBHOOK else None
        secret = box.encrypt(signing) if signing else None
    row = NotificationChannel(org_id=actor.org_id, name=data.name, kind=data.kind, config=config,
                              secret_enc=secret, per_minute=data.per_minute)  # fmt: skip
    session.add(row)
    await session.flush()
    audit.record(session, event=AuditEvent.INTEGRATION_CHANGED, actor=actor.actor, org_id=actor.org_id,
                 outcome="created", detail={"notification_channel": row.id, "kind": row.kind.value})  # fmt: skip
    return CreatedChannel(channel=ChannelOut.of(row), signing_secret=signing)


async def list_channels(session: AsyncSession, *, org_id: int) -> Sequence[NotificationChannel]:
    """The organisation's channels by name."""
    stmt = select(NotificationChannel).where(NotificationChannel.org_id == org_id).order_by(NotificationChannel.name)
    return (await session.scalars(stmt)).all()


async def get_channel(session: AsyncSession, *, org_id: int, channel_id: int) -> NotificationChannel:
    """One channel of the organisation.

    Raises:
        NotFound: no such channel here.
    """
    row = await get_in_org(session, NotificationChannel, channel_id, org_id)
    if row is None:
        raise NotFound(f"notification channel {channel_id} does not exist")
    return row


async def delete_channel(session: AsyncSession, *, actor: Caller, channel_id: int) -> None:
    """Delete a channel and its delivery log."""
    row = await get_channel(session, org_id=actor.org_id, channel_id=channel_id)
    await session.delete(row)
    audit.record(session, event=AuditEvent.INTEGRATION_CHANGED, actor=actor.actor, org_id=actor.org_id,
                 outcome="deleted", detail={"notification_channel": channel_id})  # fmt: skip


async def enqueue(
    session: AsyncSession,
    *,
    org_id: int,
    channel_id: int,
    topic: str,
    subject: str,
    body: str,
    link: str | None = None,
) -> OutboxMessage:
    """Put one message in the outbox; it is sent by the delivery job once this unit of work commits.

    Raises:
        NotFound: no such channel in the organisation.
    """
    await get_channel(session, org_id=org_id, channel_id=channel_id)
    row = OutboxMessage(org_id=org_id, channel_id=channel_id, topic=topic[:80], subject=subject[:300], body=body,
                        link=link, status=DeliveryStatus.PENDING, next_attempt_at=utcnow())  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def deliveries(session: AsyncSession, *, org_id: int, limit: int = 50) -> Sequence[OutboxMessage]:
    """The delivery log, newest first."""
    stmt = select(OutboxMessage).where(OutboxMessage.org_id == org_id).order_by(OutboxMessage.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()


async def send_test(session: AsyncSession, *, actor: Caller, channel_id: int) -> OutboxMessage:
    """Send a test message now (the Test button) and log it; the row says delivered or why not."""
    channel = await get_channel(session, org_id=actor.org_id, channel_id=channel_id)
    message = Message(topic="test", subject=f"rmmhub test message for {channel.name}",
                      body=f"{actor.label} sent this test from Admin -> Notifications.")  # fmt: skip
    error: str | None = None
    try:
        secret = secret_box(session).decrypt(channel.secret_enc) if channel.secret_enc else None
        async with httpx.AsyncClient(timeout=15.0) as http:
            await deliver(channel, secret, message, http=http)
    except (DeliveryError, SecretDecryptionError) as exc:
        error = str(exc)
    now = utcnow()
    row = OutboxMessage(
        org_id=actor.org_id, channel_id=channel.id, topic=message.topic, subject=message.subject, body=message.body,
        status=DeliveryStatus.FAILED if error else DeliveryStatus.DELIVERED, attempts=1, last_error=error,
        next_attempt_at=now, delivered_at=None if error else now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row
