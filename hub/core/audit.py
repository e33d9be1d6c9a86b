"""The append-only, tamper-evident audit log.

Entries are appended inside the caller's transaction (so they commit or roll back with the action
they describe) and *sealed* right after commit: sealing assigns the next sequence number and an
HMAC-SHA256 over the entry and the previous entry's hash, keyed by the hub secret key. Editing,
deleting or reordering a sealed row breaks the chain, and :func:`verify` names the first broken
sequence number. Sealing is serialised through the single ``audit_chain_head`` row, whose update is
the first statement of the sealing transaction (a row lock on PostgreSQL, the write lock on SQLite),
so replicas never fork the chain.

Only the write path seals, and only the entries it wrote (the sealer job retries the ones whose
sealing failed in this process). Nothing else ever seals: a row inserted behind the hub's back stays
unsealed and :func:`verify` (read-only) reports it once it is older than the sealing grace period.
Signed checkpoints of the head in a witness file outside the database (:mod:`hub.core.witness`)
reveal a cut-off tail even when the stored head was rewritten to match.
"""

from __future__ import annotations

import hmac
import logging
import weakref
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from hashlib import sha256
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, Database, after_commit, utcnow
from hub.core.jsonutil import canonical_json, preview
from hub.core.security import derive_key
from hub.core.settings import Settings
from hub.core.witness import Checkpoint, WitnessState
from hub.core.witness import append as append_checkpoint
from hub.core.witness import read as read_witness
from hub.core.witness import sign as sign_checkpoint

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
    written: list[AuditEntry] = session.info.setdefault("audit_entries", [])
    written.append(entry)
    database: Database | None = session.info.get("database")
    if database is not None and not session.info.get("audit_seal_scheduled"):
        session.info["audit_seal_scheduled"] = True

        async def _seal() -> None:
            ids = [e.id for e in session.info.pop("audit_entries", []) if e.id is not None]
            session.info.pop("audit_seal_scheduled", None)
            try:
                await seal(database, session.info["secret_key"], ids)
            except SQLAlchemyError:
                log.exception("could not seal audit entries %s; the sealer job retries", ids)
                _unsealed_by_us.setdefault(database, set()).update(ids)

        after_commit(session, _seal)
    return entry


#: Entries this process wrote but could not seal (per database), retried by :func:`seal_retries`.
_unsealed_by_us: weakref.WeakKeyDictionary[Database, set[int]] = weakref.WeakKeyDictionary()


async def seal_retries(database: Database, secret_key: str) -> int:
    """The sealer job: seal the entries this process wrote whose sealing failed; returns how many."""
    ids = _unsealed_by_us.pop(database, set())
    if not ids:
        return 0
    try:
        return await seal(database, secret_key, sorted(ids))
    except SQLAlchemyError:
        _unsealed_by_us.setdefault(database, set()).update(ids)
        raise


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


async def seal(database: Database, secret_key: str, ids: Collection[int]) -> int:
    """Seal the still-unsealed entries among ``ids`` (the write path's own), in id order; returns how many."""
    if not ids:
        return 0
    key = _chain_key(secret_key)
    async with database.sessionmaker() as session, session.begin():
        head_exists = await session.execute(
            update(AuditChainHead).where(AuditChainHead.id == 1).values(sealed_at=utcnow())
        )
        if head_exists.rowcount == 0:  # type: ignore[attr-defined]
            session.add(AuditChainHead(id=1, seq=0, hash=GENESIS_HASH, sealed_at=utcnow()))
            await session.flush()
        head = (await session.execute(select(AuditChainHead).where(AuditChainHead.id == 1))).scalar_one()
        stmt = select(AuditEntry).where(AuditEntry.seq.is_(None), AuditEntry.id.in_(list(ids)))
        pending = (await session.execute(stmt.order_by(AuditEntry.id))).scalars().all()
        seq, prev = head.seq, head.hash
        for entry in pending:
            seq += 1
            entry.seq = seq
            entry.prev_hash = prev
            entry.hash = prev = _entry_hash(key, entry, seq, entry.prev_hash)
        head.seq, head.hash = seq, prev
        return len(pending)


async def write_checkpoint(database: Database, secret_key: str, path: Path) -> Checkpoint | None:
    """Append the chain head to the witness file and the log, unless the latest checkpoint already has it.

    Returns the checkpoint written (None when the chain is empty or unchanged since the last one).
    """
    async with database.sessionmaker() as session:
        head = (await session.execute(select(AuditChainHead).where(AuditChainHead.id == 1))).scalar_one_or_none()
    if head is None or head.seq == 0:
        return None
    known = read_witness(path, secret_key).latest
    if known is not None and (known.seq, known.hash) == (head.seq, head.hash):
        return None
    signed = sign_checkpoint(secret_key, seq=head.seq, hash_=head.hash, at=utcnow())
    append_checkpoint(path, signed)
    log.info("audit checkpoint seq=%d hash=%s at=%s mac=%s", signed.seq, signed.hash, signed.at.isoformat(), signed.mac)
    return signed


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :func:`verify`."""

    ok: bool
    checked: int
    unsealed: int
    first_bad_seq: int | None = None
    problem: str = ""
    checkpoint_seq: int | None = None


async def verify(
    session: AsyncSession,
    secret_key: str,
    *,
    witness: WitnessState | None = None,
    seal_grace: timedelta = timedelta(seconds=60),
    now: datetime | None = None,
) -> VerifyReport:
    """Recompute the chain (read-only) and report the first sign of tampering.

    Detects an altered, missing or reordered sealed entry, a cut-off tail (against the stored head and,
    when ``witness`` is given, against its latest signed checkpoint), and rows left unsealed for longer
    than ``seal_grace`` (inserted behind the write path's back).
    """
    key = _chain_key(secret_key)
    checkpoint = witness.latest if witness else None
    cp_seq = checkpoint.seq if checkpoint else None

    def report(ok: bool, checked: int, unsealed: int, bad: int | None = None, problem: str = "") -> VerifyReport:
        return VerifyReport(ok, checked, unsealed, bad, problem, cp_seq)

    head = (await session.execute(select(AuditChainHead).where(AuditChainHead.id == 1))).scalar_one_or_none()
    unsealed = int((await session.execute(select(func.count()).where(AuditEntry.seq.is_(None)))).scalar_one())
    rows = await session.stream_scalars(
        select(AuditEntry).where(AuditEntry.seq.is_not(None)).order_by(AuditEntry.seq).execution_options(yield_per=500)
    )
    expected_seq, prev, checked = 1, GENESIS_HASH, 0
    async for entry in rows:
        assert entry.seq is not None
        if entry.seq != expected_seq:
            return report(False, checked, unsealed, expected_seq, f"entry #{expected_seq} is missing")
        if entry.prev_hash != prev or _entry_hash(key, entry, entry.seq, prev) != entry.hash:
            return report(False, checked, unsealed, entry.seq, f"entry #{entry.seq} was altered")
        witnessed = witness.by_seq.get(entry.seq) if witness else None
        if witnessed is not None and entry.hash != witnessed.hash:
            problem = f"entry #{entry.seq} differs from the signed checkpoint of {witnessed.at:%Y-%m-%d %H:%M} UTC"
            return report(False, checked, unsealed, entry.seq, problem + ": the chain was rewritten")
        prev, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    if witness is not None and witness.problem:
        return report(False, checked, unsealed, None, witness.problem)
    if checkpoint is not None and checked < checkpoint.seq:
        problem = f"truncated: head #{checked} is behind checkpoint #{checkpoint.seq}"
        return report(False, checked, unsealed, checked + 1, problem)
    head_seq = head.seq if head else 0
    if head_seq != checked or (head and head.hash != prev):
        return report(False, checked, unsealed, checked + 1, "entries after the last one present were removed")
    cutoff = (now or utcnow()) - seal_grace
    stale = (
        await session.execute(
            select(AuditEntry.id, AuditEntry.at)
            .where(AuditEntry.seq.is_(None), AuditEntry.at < cutoff)
            .order_by(AuditEntry.id)
            .limit(1)
        )
    ).first()
    if stale is not None:
        problem = (
            f"entry id {stale.id} ({stale.at:%Y-%m-%d %H:%M:%S} UTC) was never sealed: the hub seals what it "
            f"writes within {int(seal_grace.total_seconds())} s, so it was inserted behind the hub's back"
        )
        return report(False, checked, unsealed, None, problem)
    return report(True, checked, unsealed)


async def verify_against_witness(session: AsyncSession, settings: Settings) -> VerifyReport:
    """:func:`verify` with this hub's witness file and sealing grace period (CLI, REST and the audit page)."""
    return await verify(
        session,
        settings.secret,
        witness=read_witness(settings.audit_witness, settings.secret),
        seal_grace=timedelta(seconds=settings.audit_seal_grace_seconds),
    )
