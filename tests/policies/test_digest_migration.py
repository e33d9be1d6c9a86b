"""Migration 0005_h8a: the plain ``args_sha256`` becomes the keyed ``args_digest``; pending requests signed
the old way are failed (re-signing them would bless whatever their stored args are now)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.script import ScriptDirectory

from hub.migrate import alembic_config, upgrade

REVISION = "0005_h8a"


def test_pending_unsigned_approvals_are_failed_and_the_column_renamed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    before = ScriptDirectory.from_config(alembic_config(url)).get_revision(REVISION).down_revision
    assert isinstance(before, str)
    upgrade(url, before)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO organizations (id, name, slug, created_at) VALUES (1, 'Acme', 'acme', '2026-01-01')")
        for approval_id, status in ((1, "pending"), (2, "executed")):
            conn.execute(
                "INSERT INTO approvals (id, org_id, tool_id, args, args_sha256, reason, requester_label, requester_role,"
                " requested_via, status, created_at, expires_at, decision_note, context) VALUES"
                " (?, 1, 'native_rmm:rmm-run-command', '{}', ?, '', 'olga', 'operator', 'api', ?, '2026-01-01',"
                " '2026-01-02', '', '{}')",
                (approval_id, "0" * 64, status),
            )
    upgrade(url, REVISION)
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id, status, error, args_digest, via_tool_id FROM approvals ORDER BY id").fetchall()
    assert rows[0][:2] == (1, "failed") and "request it again" in rows[0][2]
    assert rows[1] == (2, "executed", None, "0" * 64, None)
