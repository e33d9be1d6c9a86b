"""No secrets in logs (issue 8, item 8): a real ``rmmhub serve`` is asked for token-bearing URLs, its log grepped."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from hub.core.db import Database
from hub.core.redact import redact_target
from native_rmm.installers import service as installers
from tests.conftest import SECRET, Tenancy, free_port


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/install/rmi_AbC-123_xyz/linux", "/install/[redacted]/linux"),
        ("/install/anything-at-all/windows", "/install/[redacted]/windows"),
        ("/login?next=%2Finstall%2Frmi_AbCdEf12%2Flinux", "/login?next=%2Finstall%2Frmi_[redacted]"),
        ("/relay/session?ticket=eyJhbGciOi.x.y&view=1", "/relay/session?ticket=[redacted]&view=1"),
        ("/rmm?support_code=123-456&tab=devices", "/rmm?support_code=[redacted]&tab=devices"),
        ("/api/v1/me?access_token=rmh_secretvalue", "/api/v1/me?access_token=[redacted]"),
        ("/rmm/devices/12?tab=system", "/rmm/devices/12?tab=system"),
    ],
)
def test_token_bearing_targets_are_redacted(target: str, expected: str) -> None:
    assert redact_target(target) == expected


async def _installer_token(db: Database, org_id: int) -> str:
    async with db.transaction() as session:
        installer = await installers.ensure_base_installer(session, org_id=org_id)
        return installers.installer_token(session, installer)


async def test_the_access_log_of_a_real_hub_shows_no_token(
    db: Database, tenancy: Tenancy, clean_db: str, tmp_path: Path
) -> None:
    token = await _installer_token(db, tenancy.org_id)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "RMMHUB_ENV": "dev",
        "RMMHUB_SECRET_KEY": SECRET,
        "RMMHUB_DATABASE_URL": clean_db,
        "RMMHUB_PUBLIC_URL": url,
        "RMMHUB_SCHEDULER_ENABLED": "false",
        "RMMHUB_LOG_LEVEL": "INFO",
    }
    env.pop("RMMHUB_REDIS_URL", None)
    log_path = tmp_path / "hub.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub.cli",
            "serve",
            "--no-migrate",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                assert proc.returncode is None and time.monotonic() < deadline, log_path.read_text()
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)  # not listening yet
            assert (await client.get(f"/install/{token}/linux")).status_code == 200
            await client.get(f"/install/{token}x/windows")
            await client.get(f"/login?next=/install/{token}/macos")
            await client.get("/api/v1/me?ticket=relay-ticket-secret-123")
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
    text = log_path.read_text()
    assert "/install/[redacted]/linux" in text and "ticket=[redacted]" in text, text[-2000:]
    assert token not in text and token[4:] not in text and "relay-ticket-secret-123" not in text
