"""The audit chain cannot be cut or padded, and verifying never writes (issue 8 item 3).

Every attack of the issue against a real database: edit, delete a middle row, delete the tail and
rewrite the stored head, insert an unsealed row, insert a row sealed with a wrong key. Each is
detected by :func:`hub.core.audit.verify`, by ``rmmhub audit verify`` and by the REST endpoint.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select, update

from hub.core import audit, witness
from hub.core.audit import SYSTEM_ACTOR, AuditChainHead, AuditEntry, AuditEvent
from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from hub.core.settings import Settings
from hub.main import create_app
from tests.conftest import SECRET, Tenancy, TestUser

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _write(db: Database, n: int) -> None:
    for i in range(n):
        async with db.transaction() as s:
            audit.record(
                s, event=AuditEvent.POLICY_CHANGED, actor=SYSTEM_ACTOR, org_id=None, outcome=f"n{i}", detail={"i": i}
            )


async def _verify(db: Database, settings: Settings, **kwargs: object) -> audit.VerifyReport:
    state = witness.read(settings.audit_witness, SECRET)
    async with db.sessionmaker() as s:
        return await audit.verify(s, SECRET, witness=state, **kwargs)  # type: ignore[arg-type]


def _cli_verify(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RMMHUB_DATABASE_URL": settings.database_url,
        "RMMHUB_SECRET_KEY": SECRET,
        "RMMHUB_ENV": "production",
        "RMMHUB_AUDIT_WITNESS": str(settings.audit_witness),
    }
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "audit", "verify"], env=env, capture_output=True, text=True, timeout=60
    )


async def _checkpoint(db: Database, settings: Settings) -> witness.Checkpoint:
    written = await audit.write_checkpoint(db, SECRET, settings.audit_witness)
    assert written is not None
    return written


async def _unsealed(db: Database) -> int:
    async with db.sessionmaker() as s:
        return int((await s.execute(select(func.count()).where(AuditEntry.seq.is_(None)))).scalar_one())


def _forged(**values: object) -> AuditEntry:
    return AuditEntry(actor_label="mallory", via="api", event="tool.executed", outcome="done", detail={}, **values)


async def test_checkpoints_are_signed_appended_and_logged(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert await audit.write_checkpoint(db, SECRET, settings.audit_witness) is None  # empty chain: nothing to witness
    await _write(db, 3)
    with caplog.at_level(logging.INFO, logger="hub.core.audit"):
        first = await _checkpoint(db, settings)
    assert (first.seq, len(first.hash)) == (3, 64)
    assert f"audit checkpoint seq=3 hash={first.hash}" in caplog.text
    assert await audit.write_checkpoint(db, SECRET, settings.audit_witness) is None  # unchanged head: no new line
    await _write(db, 2)
    second = await _checkpoint(db, settings)
    lines = settings.audit_witness.read_text().splitlines()
    assert len(lines) == 2 and second.seq == 5
    assert witness.read(settings.audit_witness, SECRET).latest == second
    assert witness.read(settings.audit_witness, "another-key-" + "z" * 40).problem.endswith("has a bad signature")
    report = await _verify(db, settings)
    assert report.ok and report.checked == 5 and report.checkpoint_seq == 5


async def test_edit_is_detected(db: Database, settings: Settings) -> None:
    await _write(db, 4)
    await _checkpoint(db, settings)
    async with db.transaction() as s:
        await s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(outcome="forged"))
    report = await _verify(db, settings)
    assert not report.ok and report.first_bad_seq == 2 and "altered" in report.problem


async def test_deleting_a_middle_row_is_detected(db: Database, settings: Settings) -> None:
    await _write(db, 4)
    await _checkpoint(db, settings)
    async with db.transaction() as s:
        await s.execute(delete(AuditEntry).where(AuditEntry.seq == 3))
    report = await _verify(db, settings)
    assert not report.ok and report.first_bad_seq == 3 and "missing" in report.problem


async def test_deleting_the_tail_and_rewriting_the_head_is_detected(
    db: Database, settings: Settings, app: FastAPI, tenancy: Tenancy, client_for: Clients
) -> None:
    """The reproduction: this verified "intact" before, since the stored head agreed with the cut chain."""
    await _write(db, 5)
    checkpoint = await _checkpoint(db, settings)
    async with db.transaction() as s:
        kept = (await s.execute(select(AuditEntry).where(AuditEntry.seq == 3))).scalar_one()
        await s.execute(delete(AuditEntry).where(AuditEntry.seq > 3))
        await s.execute(update(AuditChainHead).values(seq=3, hash=kept.hash))
    assert (await _verify(db, settings.model_copy(update={"audit_witness": Path("/nonexistent")}))).ok, (
        "without the witness the cut is invisible; that is why it exists"
    )
    expected = f"truncated: head #3 is behind checkpoint #{checkpoint.seq}"
    report = await _verify(db, settings)
    assert not report.ok and report.problem == expected and report.checkpoint_seq == checkpoint.seq

    cli = _cli_verify(settings)
    assert cli.returncode == 1 and expected in cli.stderr
    rest = await client_for(tenancy.admin).get("/api/v1/audit/verify")
    assert rest.status_code == 200
    assert rest.json()["ok"] is False and rest.json()["problem"] == expected


async def test_an_unsealed_insert_is_reported_and_never_sealed_by_verifying(
    db: Database, settings: Settings, app: FastAPI, tenancy: Tenancy, client_for: Clients
) -> None:
    """The reproduction: a row inserted with seq NULL was sealed by the verifier and reported intact."""
    await _write(db, 2)
    async with db.transaction() as s:
        s.add(_forged(at=utcnow() - timedelta(minutes=10)))
    report = await _verify(db, settings)
    assert not report.ok and "was never sealed" in report.problem and "behind the hub's back" in report.problem
    cli = _cli_verify(settings)
    assert cli.returncode == 1 and "was never sealed" in cli.stderr
    rest = (await client_for(tenancy.admin).get("/api/v1/audit/verify")).json()
    assert rest["ok"] is False and "was never sealed" in rest["problem"]
    assert await _unsealed(db) == 1, "verifying must not seal anything"
    async with db.sessionmaker() as s:
        forged = (await s.execute(select(AuditEntry).where(AuditEntry.actor_label == "mallory"))).scalar_one()
    assert forged.seq is None and forged.hash is None


async def test_a_fresh_unsealed_row_becomes_tampering_once_past_the_grace(db: Database, settings: Settings) -> None:
    await _write(db, 1)
    async with db.transaction() as s:
        s.add(_forged(at=utcnow()))
    fresh = await _verify(db, settings)
    assert fresh.ok and fresh.unsealed == 1
    later = await _verify(db, settings, now=utcnow() + timedelta(minutes=2))
    assert not later.ok and "was never sealed" in later.problem
    assert await _unsealed(db) == 1


async def test_the_write_path_seals_only_its_own_entries(db: Database, settings: Settings) -> None:
    async with db.transaction() as s:
        s.add(_forged(at=utcnow() - timedelta(minutes=10)))
    await _write(db, 2)
    async with db.sessionmaker() as s:
        rows = (await s.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
    assert [r.seq for r in rows] == [None, 1, 2]


async def test_a_row_sealed_with_a_wrong_key_is_detected(db: Database, settings: Settings) -> None:
    await _write(db, 3)
    await _checkpoint(db, settings)
    async with db.transaction() as s:
        head = (await s.execute(select(AuditChainHead))).scalar_one()
        forged = _forged(at=utcnow(), seq=4, prev_hash=head.hash)
        forged.hash = audit._entry_hash(b"not-the-key", forged, 4, head.hash)
        s.add(forged)
        head.seq, head.hash = 4, forged.hash
    report = await _verify(db, settings)
    assert not report.ok and report.first_bad_seq == 4 and "altered" in report.problem


async def test_a_chain_that_differs_from_the_checkpoint_is_detected(db: Database, settings: Settings) -> None:
    await _write(db, 3)
    other = witness.sign(SECRET, seq=2, hash_="f" * 64, at=utcnow())
    witness.append(settings.audit_witness, other)
    report = await _verify(db, settings)
    assert not report.ok and report.first_bad_seq == 2 and "differs from the signed checkpoint" in report.problem


async def test_a_forged_witness_line_is_reported(db: Database, settings: Settings) -> None:
    await _write(db, 2)
    await _checkpoint(db, settings)
    with settings.audit_witness.open("a") as handle:
        handle.write('{"seq": 1, "hash": "' + "0" * 64 + '", "at": "2026-01-01T00:00:00Z", "mac": "00"}\n')
    report = await _verify(db, settings)
    assert not report.ok and "line 2" in report.problem and "bad signature" in report.problem


async def test_the_hub_writes_a_checkpoint_at_shutdown(settings: Settings, db: Database) -> None:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await _write(application.state.hub.db, 2)
    latest = witness.read(settings.audit_witness, SECRET).latest
    assert latest is not None and latest.seq == 2
    assert (await _verify(db, settings)).ok


async def test_the_checkpoint_job_is_scheduled_every_few_minutes(hub: HubContext, settings: Settings) -> None:
    scheduler = hub.services["scheduler"]
    [job] = [j for j in scheduler.jobs if j.name == "audit-checkpoint"]
    assert job.seconds == settings.audit_checkpoint_minutes * 60 == 300
    await _write(hub.db, 2)
    written = await scheduler.run_now("audit-checkpoint")
    assert isinstance(written, witness.Checkpoint) and written.seq == 2
    assert witness.read(settings.audit_witness, SECRET).latest == written


async def test_cutting_and_regrowing_the_chain_is_caught_by_an_older_checkpoint(
    db: Database, settings: Settings
) -> None:
    """Truncate, then let new entries (and a new checkpoint) pass the old head: the old checkpoint still differs."""
    await _write(db, 3)
    old = await _checkpoint(db, settings)
    async with db.transaction() as s:
        kept = (await s.execute(select(AuditEntry).where(AuditEntry.seq == 1))).scalar_one()
        await s.execute(delete(AuditEntry).where(AuditEntry.seq > 1))
        await s.execute(update(AuditChainHead).values(seq=1, hash=kept.hash))
    await _write(db, 4)  # sealed by the hub with the real key: seq 2..5
    assert (await _checkpoint(db, settings)).seq == 5
    report = await _verify(db, settings)
    assert not report.ok and report.first_bad_seq == old.seq and "differs from the signed checkpoint" in report.problem
