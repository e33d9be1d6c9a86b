"""The append-only, tamper-evident audit log.

Entries are appended inside the caller's transaction (so they commit or roll back with the action
they describe) and *sealed* right after commit: sealing assigns the next sequence number and an
HMAC-SHA256 over the entry and the previous entry's hash, keyed by the hub secret key. Editing,
deleting or reordering a sealed row breaks the chain, and :func:`verify` names the first broken
sequence number. Sealing is serialised through the single ``audit_chain_head`` row, whose update is
the first statement of the sealing transaction (a row lock on PostgreSQL, the write lock on SQLite),
so replicas never fork the chain.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from hashlib import sha256
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow
from hub.core.jsonutil import canonical_json, preview
from hub.core.security import derive_key
from hub.core.uow import SessionSource, after_commit, uow_of

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64


class AuditEvent(StrEnum):
    """What an audit entry records."""

    TOOL_REQUESTED = "tool.requested"
    POLICY_DECIDED = "policy.decided"
    TOOL_REFUSED = "tool.refused"
    TOOL_EXECUTED = "tool.executed"
    TOOL_FAILED = "tool.failed"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_APPROVED = "approval.approved"
    APPROVAL_DENIED = "approval.denied"
    APPROVAL_EXPIRED = "approval.expired"
    APPROVAL_FAILED = "approval.failed"
    POLICY_CHANGED = "policy.changed"
    USER_CHANGED = "user.changed"
    TOKEN_CHANGED = "token.changed"
    LOGIN_SUCCEEDED = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    INTEGRATION_CHANGED = "integration.changed"
    DEVICE_CHANGED = "device.changed"


class AuditEntry(Base):
    """One audit record. ``seq`` and ``hash`` are set when the entry is sealed."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int | None] = mapped_column(Integer, unique=True, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    actor_label: Mapped[str] = mapped_column(String(200))
    via: Mapped[str] = mapped_column(String(32), default="system")
    event: Mapped[str] = mapped_column(String(40), index=True)
    tool_id: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    approval_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    args_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[str] = mapped_column(String(40), default="")
    detail: Mapped[Any] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    hash: Mapped[str | None] = mapped_column(String(64), default=None)


class AuditChainHead(Base):
    """The single row holding the last sealed sequence number and hash; the sealing lock."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    sealed_at: Mapped[datetime | None] = mapped_column(default=None)


@dataclass(frozen=True)
class Actor:
    """Who did something, as the audit log shows it."""

    user_id: int | None
    label: str
    via: str = "system"


SYSTEM_ACTOR = Actor(user_id=None, label="system", via="system")


def record(
    session: AsyncSession,
    *,
    event: AuditEvent,
    actor: Actor,
    org_id: int | None,
    outcome: str = "",
    tool_id: str | None = None,
    approval_id: int | None = None,
    args_sha256: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry to the audit log in ``session``'s transaction; it is sealed after commit."""
    entry = AuditEntry(
        at=utcnow(),
        org_id=org_id,
        actor_user_id=actor.user_id,
        actor_label=actor.label[:200],
        via=actor.via,
        event=event.value,
        tool_id=tool_id,
        approval_id=approval_id,
        args_sha256=args_sha256,
        outcome=outcome[:40],
        detail=preview(detail or {}),
    )
    session.add(entry)
    uow = uow_of(session)
    scope = uow.scope
    if scope is not None and not uow.audit_seal_scheduled:
        uow.audit_seal_scheduled = True

        async def _seal() -> None:
            await seal(scope.database, scope.secret_key)

        after_commit(session, _seal)
    return entry


def _entry_hash(key: bytes, entry: AuditEntry, seq: int, prev_hash: str) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": entry.at.isoformat(),
            "org_id": entry.org_id,
            "actor_user_id": entry.actor_user_id,
            "actor_label": entry.actor_label,
            "via": entry.via,
            "event": entry.event,
            "tool_id": entry.tool_id,
            "approval_id": entry.approval_id,
            "args_sha256": entry.args_sha256,
            "outcome": entry.outcome,
            "detail": entry.detail,
            "prev_hash": prev_hash,
        }
    )
    return hmac.new(key, body.encode(), sha256).hexdigest()


def _chain_key(secret_key: str) -> bytes:
    return derive_key(secret_key, "audit-chain")


async def seal(database: SessionSource, secret_key: str) -> int:
    """Seal every unsealed entry in id order; returns how many were sealed."""
    key = _chain_key(secret_key)
    async with database.sessionmaker() as session, session.begin():
        head_exists = await session.execute(
            update(AuditChainHead).where(AuditChainHead.id == 1).values(sealed_at=utcnow())
        )
        if head_exists.rowcount == 0:  # type: ignore[attr-defined]
            session.add(AuditChainHead(id=1, seq=0, hash=GENESIS_HASH, sealed_at=utcnow()))
            await session.flush()
        head = (await session.execute(select(AuditChainHead).where(AuditChainHead.id == 1))).scalar_one()
        pending = (
            (await session.execute(select(AuditEntry).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id)))
            .scalars()
            .all()
        )
        seq, prev = head.seq, head.hash
        for entry in pending:
            seq += 1
            entry.seq = seq
            entry.prev_hash = prev
            entry.hash = prev = _entry_hash(key, entry, seq, entry.prev_hash)
        head.seq, head.hash = seq, prev
        return len(pending)


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :func:`verify`."""

    ok: bool
    checked: int
    unsealed: int
    first_bad_seq: int | None = None
    problem: str = ""


async def verify(session: AsyncSession, secret_key: str) -> VerifyReport:
    """Recompute the chain; report the first entry whose content, order or presence was altered."""
    key = _chain_key(secret_key)
    head = (await session.execute(select(AuditChainHead).where(AuditChainHead.id == 1))).scalar_one_or_none()
    unsealed = len((await session.execute(select(AuditEntry.id).where(AuditEntry.seq.is_(None)))).all())
    rows = await session.stream_scalars(
        select(AuditEntry).where(AuditEntry.seq.is_not(None)).order_by(AuditEntry.seq).execution_options(yield_per=500)
    )
    expected_seq, prev, checked = 1, GENESIS_HASH, 0
    async for entry in rows:
        assert entry.seq is not None
        if entry.seq != expected_seq:
            return VerifyReport(False, checked, unsealed, expected_seq, f"entry #{expected_seq} is missing")
        if entry.prev_hash != prev or _entry_hash(key, entry, entry.seq, prev) != entry.hash:
            return VerifyReport(False, checked, unsealed, entry.seq, f"entry #{entry.seq} was altered")
        prev, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    head_seq = head.seq if head else 0
    if head_seq != checked or (head and head.hash != prev):
        return VerifyReport(False, checked, unsealed, checked + 1, "entries after the last one present were removed")
    return VerifyReport(True, checked, unsealed)
