"""The audit chain: sealed after commit, tampering (edit, delete, truncate) detected, CLI exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import delete, select, update

from hub.core import audit
from hub.core.audit import SYSTEM_ACTOR, AuditChainHead, AuditEntry, AuditEvent
from hub.core.db import Database
from tests.conftest import SECRET


async def _write(db: Database, n: int) -> None:
    for i in range(n):
        async with db.transaction() as s:
            audit.record(
                s, event=AuditEvent.POLICY_CHANGED, actor=SYSTEM_ACTOR, org_id=None, outcome=f"n{i}", detail={"i": i}
            )


async def _verify(db: Database) -> audit.VerifyReport:
    async with db.sessionmaker() as s:
        return await audit.verify(s, SECRET)


async def test_entries_are_sealed_in_order_and_verify(db: Database) -> None:
    await _write(db, 5)
    async with db.sessionmaker() as s:
        rows = (await s.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars().all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert all(r.hash and r.prev_hash for r in rows)
    assert rows[1].prev_hash == rows[0].hash
    report = await _verify(db)
    assert report.ok and report.checked == 5 and report.unsealed == 0


async def test_rolled_back_entries_never_appear(db: Database) -> None:
    class Boom(Exception):
        pass

    try:
        async with db.transaction() as s:
            audit.record(s, event=AuditEvent.POLICY_CHANGED, actor=SYSTEM_ACTOR, org_id=None)
            raise Boom
    except Boom:
        pass
    async with db.sessionmaker() as s:
        assert (await s.execute(select(AuditEntry))).first() is None


async def test_edited_entry_is_detected(db: Database) -> None:
    await _write(db, 4)
    async with db.transaction() as s:
        await s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(outcome="forged"))
    report = await _verify(db)
    assert not report.ok and report.first_bad_seq == 2 and "altered" in report.problem


async def test_edited_detail_is_detected(db: Database) -> None:
    await _write(db, 3)
    async with db.transaction() as s:
        await s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(detail={"i": 99}))
    assert (await _verify(db)).first_bad_seq == 3


async def test_deleted_entry_is_detected(db: Database) -> None:
    await _write(db, 4)
    async with db.transaction() as s:
        await s.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    report = await _verify(db)
    assert not report.ok and report.first_bad_seq == 2 and "missing" in report.problem


async def test_truncated_tail_is_detected(db: Database) -> None:
    await _write(db, 4)
    async with db.transaction() as s:
        await s.execute(delete(AuditEntry).where(AuditEntry.seq == 4))
    report = await _verify(db)
    assert not report.ok and "removed" in report.problem


async def test_recomputed_plain_hash_is_still_detected(db: Database) -> None:
    """Rewriting a row and its hash without the secret key does not pass (HMAC, not a bare hash)."""
    await _write(db, 2)
    async with db.transaction() as s:
        row = (await s.execute(select(AuditEntry).where(AuditEntry.seq == 2))).scalar_one()
        row.outcome = "forged"
        row.hash = audit._entry_hash(b"not-the-key", row, 2, row.prev_hash or "")
        head = (await s.execute(select(AuditChainHead))).scalar_one()
        head.hash = row.hash
    assert (await _verify(db)).first_bad_seq == 2


async def test_cli_verify_exit_codes(db: Database, database_url: str, tmp_path: Path) -> None:
    await _write(db, 3)
    env = {**os.environ, "RMMHUB_DATABASE_URL": database_url, "RMMHUB_SECRET_KEY": SECRET, "RMMHUB_ENV": "production"}
    env["RMMHUB_AUDIT_WITNESS"] = str(tmp_path / "witness.log")  # not the repository's ./var
    ok = subprocess.run([sys.executable, "-m", "hub.cli", "audit", "verify"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "3 entries verified" in ok.stdout
    async with db.transaction() as s:
        await s.execute(update(AuditEntry).where(AuditEntry.seq == 1).values(actor_label="mallory"))
    bad = subprocess.run([sys.executable, "-m", "hub.cli", "audit", "verify"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "TAMPERED" in bad.stderr and "#1" in bad.stderr
