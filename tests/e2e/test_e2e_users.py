"""Who uses a device, end to end: a real agent process reads a real utmp/wtmp pair, the real hub
stores the sessions and the last user, and ``rmm-list-devices`` finds the device by that user."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.collectors.users import USER_PROCESS, UtmpRecord, pack_utmp
from native_rmm.models.devices import Device
from tests.e2e.conftest import E2EHub, StartAgent, agent_env, result_of
from tests.waiting import eventually

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
              pytest.mark.slow]  # fmt: skip


def _write(path: Path, *records: UtmpRecord) -> None:
    tmp = path.with_suffix(".new")
    tmp.write_bytes(b"".join(pack_utmp(r) for r in records))
    tmp.replace(path)  # as login does: readers never see a half-written file


async def test_agent_reports_logged_in_and_last_user(e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path) -> None:
    utmp, wtmp = tmp_path / "utmp", tmp_path / "wtmp"
    login = int(datetime(2026, 12, 1, 9, 2, tzinfo=UTC).timestamp())
    # The session's process is this test's: alive for as long as the test runs.
    priya = UtmpRecord(type=USER_PROCESS, pid=os.getpid(), line="tty1", user="priya", host="", seconds=login)
    _write(utmp, priya)
    _write(wtmp, priya)
    await start_agent("run", "--state-dir", str(tmp_path / "state"), "--hub", e2e_hub.url, "--token",
                      e2e_hub.base_token, env=agent_env(RMMHUB_AGENT_UTMP=str(utmp), RMMHUB_AGENT_WTMP=str(wtmp)))  # fmt: skip
    device = await e2e_hub.connected_device()

    async def reported() -> Device | None:
        d = await e2e_hub.device(device.id)
        return d if d is not None and d.last_user == "priya" and d.logged_in_names == "priya" else None

    stored = await eventually(reported, within=60, message="the agent's logged-in users")
    assert stored.logged_in_users[0]["terminal"] == "tty1"
    assert stored.last_user_at == datetime.fromtimestamp(login, UTC)

    viewer = e2e_hub.client(e2e_hub.tenancy.viewer)
    found = await result_of(viewer, "rmm-list-devices", {"user": "PRI"})
    assert [d["id"] for d in found["devices"]] == [device.id] and found["devices"][0]["logged_in_users"] == ["priya"]
    detail = await result_of(viewer, "rmm-get-device", {"device": device.id})
    assert detail["user_sessions"][0]["name"] == "priya" and detail["last_user"] == "priya"

    # Priya logs out: no session now, and she stays the last user.
    _write(utmp)

    async def logged_out() -> Device | None:
        d = await e2e_hub.device(device.id)
        return d if d is not None and d.logged_in_users == [] else None

    after = await eventually(logged_out, within=60, message="the logout reported")
    assert after.last_user == "priya"
    assert (await result_of(viewer, "rmm-list-devices", {"user": "priya"}))["count"] == 1
