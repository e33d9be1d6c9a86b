"""``--json`` on the listing commands: stable keys a script can rely on (both databases)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hub.core.db import Database
from tests.conftest import SECRET, Tenancy


def _cli(database_url: str, witness: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RMMHUB_DATABASE_URL": database_url,
        "RMMHUB_SECRET_KEY": SECRET,
        "RMMHUB_AUDIT_WITNESS": str(witness),
    }
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=env, capture_output=True, text=True, timeout=90)


async def test_listing_commands_print_json(db: Database, database_url: str, tenancy: Tenancy, tmp_path: Path) -> None:
    witness = tmp_path / "witness.log"
    users = _cli(database_url, witness, "user", "list", "--json")
    assert users.returncode == 0, users.stderr
    rows = json.loads(users.stdout)
    assert {"id", "username", "role", "disabled", "display_name", "org_id"} == set(rows[0])
    assert {r["username"]: r["role"] for r in rows}["vic"] == "viewer"

    verified = _cli(database_url, witness, "audit", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    report = json.loads(verified.stdout)
    assert report["ok"] is True and {"checked", "unsealed", "checkpoint_seq", "problem", "first_bad_seq"} <= set(report)

    installers = _cli(database_url, witness, "installer", "list", "--json")
    assert installers.returncode == 0, installers.stderr
    first = json.loads(installers.stdout)[0]
    assert {"id", "name", "kind", "uses", "max_uses", "commands"} == set(first) and first["kind"] == "base"

    status = _cli(database_url, witness, "integrations", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout) == []
