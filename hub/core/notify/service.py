"""Channels (create, list, delete) and the outbox's front door, :func:`enqueue`. Flushes, never commits."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller
from hub.core.changes import record_change
from hub.core.db import require_in_org, utcnow
from hub.core.errors import Conflict, InvalidRequest
from hub.core.notify.models import ChannelKind, DeliveryStatus, NotificationChannel, OutboxMessage
from hub.core.notify.schemas import ChannelEdit, ChannelIn, ChannelOut, CreatedChannel
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
    row = NotificationChannel(
        org_id=actor.org_id,
        name=data.name,
        kind=data.kind,
        config=config,
        secret_enc=secret,
        per_minute=data.per_minute,
        approvals=data.approvals,
    )
    session.add(row)
    await session.flush()
    record_change(
        session,
        actor=actor.actor,
        org_id=actor.org_id,
        outcome="created",
        detail={"notification_channel": row.id, "kind": row.kind.value},
    )
    return CreatedChannel(channel=ChannelOut.of(row), signing_secret=signing)


async def update_channel(session: AsyncSession, *, actor: Caller, channel_id: int, data: ChannelEdit) -> CreatedChannel:
    """Change a channel's settings (its kind stays). A blank password keeps the stored one; a webhook keeps
    its signing secret unless ``rotate_secret``, and then the new one is returned this once.

    Raises:
        NotFound: no such channel here.
        Conflict: another channel has the new name.
        InvalidRequest: the settings do not fit the channel's kind.
    """
    row = await get_channel(session, org_id=actor.org_id, channel_id=channel_id)
    if data.name != row.name:
        clash = await session.scalar(
            select(NotificationChannel.id).where(
                NotificationChannel.org_id == actor.org_id,
                NotificationChannel.name == data.name,
                NotificationChannel.id != row.id,
            )
        )
        if clash is not None:
            raise Conflict(f"a channel named {data.name!r} exists already; pick another name")
    box = secret_box(session)
    signing: str | None = None
    changed: list[str] = []
    if row.kind is ChannelKind.EMAIL:
        if data.email is None:
            raise InvalidRequest("an email channel needs its SMTP settings (host, port, sender, recipients)")
        if data.url is not None or data.rotate_secret:
            raise InvalidRequest("an email channel has no URL or signing secret; set its SMTP settings instead")
        config = data.email.model_dump()
        if data.password:
            row.secret_enc = box.encrypt(data.password)
            changed.append("password")
        elif data.clear_password:
            row.secret_enc = None
            changed.append("password")
    else:
        if data.email is not None or data.password or data.clear_password:
            raise InvalidRequest(f"a {row.kind.value} channel has no SMTP settings; set its URL instead")
        if data.url is None:
            raise InvalidRequest(f"a {row.kind.value} channel needs the URL to post to")
        config = {"url": str(data.url)}
        if data.rotate_secret:
            if row.kind is not ChannelKind.WEBHOOK:
                raise InvalidRequest(f"a {row.kind.value} channel has no signing secret to rotate")
            signing = secrets.token_urlsafe(32)
            row.secret_enc = box.encrypt(signing)
            changed.append("signing_secret")
    changed += [k for k in sorted(set(config) | set(row.config)) if config.get(k) != row.config.get(k)]
    changed += [
        name
        for name, new in (
            ("name", data.name),
            ("per_minute", data.per_minute),
            ("approvals", data.approvals),
            ("enabled", data.enabled),
        )
        if getattr(row, name) != new
    ]
    row.name, row.config, row.per_minute = data.name, config, data.per_minute
    row.approvals, row.enabled = data.approvals, data.enabled
    await session.flush()
    record_change(
        session,
        actor=actor.actor,
        org_id=actor.org_id,
        outcome="updated",
        detail={"notification_channel": row.id, "changed": changed},
    )
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
    return await require_in_org(
        session, NotificationChannel, channel_id, org_id, missing=f"notification channel {channel_id} does not exist"
    )


async def delete_channel(session: AsyncSession, *, actor: Caller, channel_id: int) -> None:
    """Delete a channel and its delivery log."""
    row = await get_channel(session, org_id=actor.org_id, channel_id=channel_id)
    await session.delete(row)
    record_change(
        session, actor=actor.actor, org_id=actor.org_id, outcome="deleted", detail={"notification_channel": channel_id}
    )


async def enqueue(
    session: AsyncSession,
    *,
    org_id: int,
    channel_id: int,
    topic: str,
    subject: str,
    body: str,
    link: str | None = None,
    extra_to: str | None = None,
) -> OutboxMessage:
    """Put one message in the outbox; it is sent by the delivery job once this unit of work commits.

    Raises:
        NotFound: no such channel in the organisation.
    """
    await get_channel(session, org_id=org_id, channel_id=channel_id)
    row = OutboxMessage(
        org_id=org_id,
        channel_id=channel_id,
        topic=topic[:80],
        subject=subject[:300],
        body=body,
        link=link,
        extra_to=extra_to,
        status=DeliveryStatus.PENDING,
        next_attempt_at=utcnow(),
    )
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
    message = Message(
        topic="test",
        subject=f"rmmhub test message for {channel.name}",
        body=f"{actor.label} sent this test from Admin -> Notifications.",
    )
    error: str | None = None
    try:
        secret = secret_box(session).decrypt(channel.secret_enc) if channel.secret_enc else None
        async with httpx.AsyncClient(timeout=15.0) as http:
            await deliver(channel, secret, message, http=http)
    except (DeliveryError, SecretDecryptionError) as exc:
        error = str(exc)
    now = utcnow()
    row = OutboxMessage(
        org_id=actor.org_id,
        channel_id=channel.id,
        topic=message.topic,
        subject=message.subject,
        body=message.body,
        status=DeliveryStatus.FAILED if error else DeliveryStatus.DELIVERED,
        attempts=1,
        last_error=error,
        next_attempt_at=now,
        delivered_at=None if error else now,
    )
    session.add(row)
    await session.flush()
    return row


async def approval_channels(session: AsyncSession, *, org_id: int) -> Sequence[NotificationChannel]:
    """The enabled channels approval requests, reminders and decisions go to."""
    stmt = select(NotificationChannel).where(
        NotificationChannel.org_id == org_id,
        NotificationChannel.approvals.is_(True),
        NotificationChannel.enabled.is_(True),
    )
    return (await session.scalars(stmt)).all()
