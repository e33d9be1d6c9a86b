"""The ``rmmhub`` command line against a real database, and ``rmmhub serve`` on a fresh one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hub.core.bootstrap import bootstrap
from hub.core.db import Database
from hub.core.security import verify_password
from tests.conftest import SECRET, free_port


def _cli(database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RMMHUB_DATABASE_URL": database_url, "RMMHUB_SECRET_KEY": SECRET}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


async def test_bootstrap_once_and_only_hash_stored(db: Database) -> None:
    async with db.transaction() as s:
        first = await bootstrap(s)
    assert first is not None and first.username == "admin" and len(first.password) >= 16
    async with db.transaction() as s:
        assert await bootstrap(s) is None
    from sqlalchemy import select

    from hub.core.models import User

    async with db.sessionmaker() as s:
        admin = (await s.execute(select(User))).scalar_one()
    assert admin.password_hash != first.password and verify_password(admin.password_hash, first.password)


async def test_user_and_token_commands(db: Database, database_url: str) -> None:
    async with db.transaction() as s:
        await bootstrap(s)
    made = _cli(database_url, "user", "create", "carol", "--role", "approver", "--name", "Carol")
    assert made.returncode == 0, made.stderr
    assert re.search(r"password: \S{16,}", made.stdout)
    dup = _cli(database_url, "user", "create", "carol")
    assert dup.returncode != 0 and "already exists" in dup.stderr
    weak = _cli(database_url, "user", "create", "dave", "--password-stdin", stdin="short\n")
    assert weak.returncode != 0 and "at least" in weak.stderr
    listed = _cli(database_url, "user", "list")
    assert "carol" in listed.stdout and "approver" in listed.stdout
    token = _cli(database_url, "token", "create", "--user", "carol", "--name", "backup script")
    assert token.returncode == 0 and token.stdout.startswith("rmh_")
    assert "rmh_" in _cli(database_url, "token", "list").stdout
    assert _cli(database_url, "user", "disable", "carol").returncode == 0
    assert "disabled" in _cli(database_url, "user", "list").stdout
    missing = _cli(database_url, "user", "disable", "nobody")
    assert missing.returncode != 0 and "no user named" in missing.stderr


def test_serve_on_fresh_database_prints_admin_once(tmp_path: Path) -> None:
    """``rmmhub serve`` migrates a fresh SQLite database, prints the admin login once and serves /healthz."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RMMHUB_")},
        "RMMHUB_SECRET_KEY": SECRET,
        "RMMHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'rmmhub.db'}",
        "RMMHUB_PORT": str(port),
        "RMMHUB_SCHEDULER_ENABLED": "false",
    }
    outputs = []
    for _ in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        pytest.fail("rmmhub serve did not come up")
                    time.sleep(0.2)
            assert health.json()["database"] == "sqlite"
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=30)
        outputs.append(out)
    assert "initial admin login" in outputs[0] and "password:" in outputs[0]
    assert "initial admin login" not in outputs[1]
