"""No secrets in logs (issue 8, item 8): a real ``rmmhub serve`` is asked for token-bearing URLs, its log grepped."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hub.core.db import Database
from hub.core.redact import redact_target
from native_rmm.installers import service as installers
from tests.conftest import Tenancy
from tests.e2e.conftest import HubProcess


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
    hub = HubProcess(database_url=clean_db, workdir=tmp_path, env={"RMMHUB_LOG_LEVEL": "INFO"})
    hub.start("--no-migrate", "--host", "127.0.0.1")
    try:
        async with httpx.AsyncClient(base_url=hub.url, timeout=5) as client:
            assert (await client.get(f"/install/{token}/linux")).status_code == 200
            await client.get(f"/install/{token}x/windows")
            await client.get(f"/login?next=/install/{token}/macos")
            await client.get("/api/v1/me?ticket=relay-ticket-secret-123")
    finally:
        hub.stop()
    text = hub.log()
    assert "/install/[redacted]/linux" in text and "ticket=[redacted]" in text, text[-2000:]
    assert token not in text and token[4:] not in text and "relay-ticket-secret-123" not in text
