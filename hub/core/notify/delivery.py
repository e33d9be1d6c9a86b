"""The delivery job: sends due outbox rows, retries failures with back-off, digests bursts.

Each channel may send ``per_minute`` messages in any sliding minute. When more are due than the
budget left, the surplus is folded into one digest row (its subject counts them; the folded rows
are marked ``digested`` and point at it), so an alert storm becomes one message, not hundreds.
A failed send is retried after 30 s, 1, 2, 4 ... minutes (capped at one hour), up to
:data:`MAX_ATTEMPTS`; then the row is ``failed`` with the last error kept in the delivery log.
Rows are chosen and digested in one short transaction, sent outside any transaction, and each
result recorded in its own: a restart mid-way re-sends at most what was in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.db import Database, utcnow
from hub.core.notify.models import DeliveryStatus, NotificationChannel, OutboxMessage
from hub.core.notify.senders import DeliveryError, Message, deliver
from hub.core.security import SecretBox, SecretDecryptionError

MAX_ATTEMPTS = 10
WINDOW = timedelta(minutes=1)
DIGEST_LISTED = 20
BATCH = 500
HTTP_TIMEOUT_SECONDS = 15.0


@dataclass
class DeliveryReport:
    """What one run of the job did."""

    delivered: int = 0
    failed: int = 0
    digested: int = 0


def backoff(attempts: int) -> timedelta:
    """The wait before retry number ``attempts`` (1-based)."""
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


async def _sent_recently(session: AsyncSession, channel_id: int, now: datetime) -> int:
    stmt = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.channel_id == channel_id, OutboxMessage.status == DeliveryStatus.DELIVERED,
        OutboxMessage.delivered_at > now - WINDOW,
    )  # fmt: skip
    return int(await session.scalar(stmt) or 0)


def _digest(channel: NotificationChannel, rows: list[OutboxMessage], now: datetime) -> OutboxMessage:
    lines = [f"- {r.subject}" for r in rows[:DIGEST_LISTED]]
    if len(rows) > DIGEST_LISTED:
        lines.append(f"... and {len(rows) - DIGEST_LISTED} more (see the delivery log)")
    return OutboxMessage(
        org_id=channel.org_id, channel_id=channel.id, topic="digest",
        subject=f"{len(rows)} notifications (digest: more than {channel.per_minute} a minute)",
        body="\n".join(lines), status=DeliveryStatus.PENDING, next_attempt_at=now, digest_count=len(rows),
    )  # fmt: skip


async def _choose(db: Database, now: datetime, report: DeliveryReport) -> list[int]:
    """Pick the rows to send now (digesting surplus); returns their ids."""
    chosen: list[int] = []
    async with db.transaction() as session:
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.status == DeliveryStatus.PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(BATCH * 4)
        )
        by_channel: dict[int, list[OutboxMessage]] = {}
        for row in (await session.scalars(stmt)).all():
            by_channel.setdefault(row.channel_id, []).append(row)
        for channel_id, rows in by_channel.items():
            channel = await session.get(NotificationChannel, channel_id)
            if channel is None or not channel.enabled:
                continue
            budget = channel.per_minute - await _sent_recently(session, channel_id, now)
            if budget <= 0:
                continue
            if len(rows) > budget:
                keep, fold = rows[: budget - 1], rows[budget - 1 :]
                digest = _digest(channel, fold, now)
                session.add(digest)
                await session.flush()
                for row in fold:
                    row.status, row.digest_id = DeliveryStatus.DIGESTED, digest.id
                report.digested += len(fold)
                rows = [*keep, digest]
            chosen.extend(r.id for r in rows)
    return chosen


async def _send_one(db: Database, box: SecretBox, row_id: int, http: httpx.AsyncClient, now: datetime) -> bool:
    async with db.transaction() as session:
        row = await session.get(OutboxMessage, row_id)
        channel = await session.get(NotificationChannel, row.channel_id) if row is not None else None
    if row is None or channel is None:
        return False
    message = Message(topic=row.topic, subject=row.subject, body=row.body, link=row.link,
                      count=max(row.digest_count, 1))  # fmt: skip
    error: str | None = None
    try:
        secret = box.decrypt(channel.secret_enc) if channel.secret_enc else None
        await deliver(channel, secret, message, http=http)
    except (DeliveryError, SecretDecryptionError) as exc:
        error = str(exc)
    async with db.transaction() as session:
        row = await session.get(OutboxMessage, row_id)
        if row is None:
            return False
        row.attempts += 1
        if error is None:
            row.status, row.delivered_at, row.last_error = DeliveryStatus.DELIVERED, now, None
            return True
        row.last_error = error
        if row.attempts >= MAX_ATTEMPTS:
            row.status = DeliveryStatus.FAILED
        else:
            row.next_attempt_at = now + backoff(row.attempts)
    return False


async def deliver_due(
    db: Database, secret_key: str, *, now: datetime | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> DeliveryReport:
    """Send what is due at ``now`` (default: the current time)."""
    now = now or utcnow()
    report = DeliveryReport()
    box = SecretBox(secret_key)
    ids = await _choose(db, now, report)
    if not ids:
        return report
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, transport=transport) as http:
        for row_id in ids:
            if await _send_one(db, box, row_id, http, now):
                report.delivered += 1
            else:
                report.failed += 1
    return report
