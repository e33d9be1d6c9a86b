"""A patch policy end to end with the real agent: the agent reports pending updates (from a stand-in
``apt-get`` on its PATH: the test cannot install real packages), the policy's window opens on the leader
(its scheduler job), the security update installs through the gate as automation and fails with the
package manager's reason; run again by hand it installs, the OS flags a reboot, and the reboot goes out
with a warning to the logged-in user (a stand-in ``shutdown`` records its arguments). The per-run
reports show it all; both database backends.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.core.db import utcnow
from hub.core.models import Customer
from native_rmm.models.automation import PatchPolicy
from tests.agent.agent_fakes import StartAgent, agent_env
from tests.conftest import LiveServer, Tenancy
from tests.e2e.conftest import E2EHub, base_token, set_policy
from tests.native_rmm.automation.conftest import json_of
from tests.waiting import eventually

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
    pytest.mark.slow,
]

FAKE_APT = """#!/bin/sh
# Stand-in apt-get: pending packages are the "name origin" lines of $FAKE_APT_STATE.
state="$FAKE_APT_STATE"
case "$1" in
  -s) while read -r pkg origin; do [ -n "$pkg" ] && echo "Inst $pkg [1.0-1] (1.0-2 $origin [amd64])"; done < "$state"; exit 0;;
  update) echo "Hit:1 http://deb.example.test stable InRelease"; exit 0;;
  install)
    shift; while [ "${1#-}" != "$1" ]; do shift; done
    if [ -f "$FAKE_APT_FAIL" ]; then echo "Reading package lists..."; cat "$FAKE_APT_FAIL" >&2; exit 100; fi
    for pkg in "$@"; do grep -v "^$pkg " "$state" > "$state.new"; mv "$state.new" "$state"; echo "Setting up $pkg (1.0-2) ..."; done
    touch "$RMMHUB_REBOOT_REQUIRED_FILE"; exit 0;;
esac
exit 0
"""
FAKE_SHUTDOWN = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_SHUTDOWN_LOG"
echo "Shutdown scheduled"
"""


def _fake_tools(tmp_path: Path) -> dict[str, str]:
    """A bin folder with the stand-ins, and the agent environment that puts it first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("apt-get", FAKE_APT), ("shutdown", FAKE_SHUTDOWN)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "apt-state").write_text("openssl Debian-Security:12/stable-security\nvim Debian:12/stable\n")
    (tmp_path / "apt-fail").write_text("E: Failed to fetch http://deb.example.test/openssl_1.0-2.deb  404  Not Found\n")
    return agent_env(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        FAKE_APT_STATE=str(tmp_path / "apt-state"),
        FAKE_APT_FAIL=str(tmp_path / "apt-fail"),
        FAKE_SHUTDOWN_LOG=str(tmp_path / "shutdown.log"),
        RMMHUB_REBOOT_REQUIRED_FILE=str(tmp_path / "reboot-required"),
    )


async def test_patch_policy_window_and_manual_run_with_a_real_agent(
    leader_hub: LiveServer, db: Any, tenancy: Tenancy, start_agent: StartAgent, tmp_path: Path
) -> None:
    hub = E2EHub(leader_hub.url, db, tenancy, await base_token(db, tenancy.org_id))
    try:
        await _run(hub, start_agent, tmp_path)
    finally:
        await hub.close()


async def _run(hub: E2EHub, launch: StartAgent, tmp_path: Path) -> None:
    t = hub.tenancy
    admin, viewer = hub.client(t.admin), hub.client(t.viewer)
    # The MSP lets its patch policies install and reboot without asking each time.
    for tool in ("rmm-create-patch-policy", "rmm-run-patch-policy", "rmm-install-patches", "rmm-run-command"):
        await set_policy(admin, f"native_rmm:{tool}", "auto")
    env = _fake_tools(tmp_path)
    await launch("run", "--state-dir", str(tmp_path / "state"), "--hub", hub.url, "--token", hub.base_token, env=env)
    device = await hub.connected_device()

    async def pending() -> list[str] | None:
        outcome = await json_of(
            await viewer.post(
                "/api/v1/tools/rmm-get-device-patches/invoke",
                json={"args": {"device": device.id, "status": "pending"}},
            )
        )
        keys = sorted(p["key"] for p in outcome["result"]["patches"])
        return keys if keys else None

    assert await eventually(pending, within=30, message="the agent's pending updates") == ["openssl", "vim"]
    async with hub.db.sessionmaker() as session:
        unassigned = await session.scalar(
            select(Customer.id).where(Customer.org_id == t.org_id, Customer.is_unassigned.is_(True))
        )
    created = await json_of(
        await admin.post(
            "/api/v1/rmm/patch-policies",
            json={
                "name": "security nightly",
                "scope_kind": "customer",
                "scope_id": unassigned,
                "categories": ["security", "critical"],
                "cron": "0 2 * * *",
                "timezone": "Europe/Berlin",
                "reboot": "if_required",
                "reboot_warning_minutes": 5,
            },
        )
    )
    policy = created["result"]
    assert policy["next_run_at"] is not None and policy["scope_name"] == "Unassigned"

    # The window opens (its slot brought to now); the leader's job runs it through the gate.
    async with hub.db.transaction() as session:
        await session.execute(update(PatchPolicy).where(PatchPolicy.id == policy["id"]).values(next_run_at=utcnow()))

    async def finished_run(trigger: str) -> dict[str, Any] | None:
        listed = await json_of(await viewer.get("/api/v1/rmm/patch-policies"))
        runs = [r for r in listed["result"]["policies"][0]["runs"] if r["trigger"] == trigger and r["status"] == "done"]
        return runs[0] if runs else None

    window = await eventually(lambda: finished_run("window"), within=40, message="the window's run")
    report = (await json_of(await viewer.get(f"/api/v1/rmm/patch-policies/runs/{window['id']}")))["result"]
    (row,) = report["devices"]
    assert row["device_id"] == device.id and row["patch_ids"] == ["openssl"]  # vim is not a security update
    assert row["status"] == "failed" and row["command_id"] is not None
    assert (
        row["reason"] == "exit code 100: E: Failed to fetch http://deb.example.test/openssl_1.0-2.deb  404  Not Found"
    )
    assert report["run"]["counts"] == {"failed": 1}

    # The mirror is back; run by hand: it installs, the OS wants a reboot, the user is warned first.
    (tmp_path / "apt-fail").unlink()
    manual = await json_of(await admin.post(f"/api/v1/rmm/patch-policies/{policy['id']}/run"))
    assert manual["status"] == "done" and manual["result"]["trigger"] == "manual"
    await eventually(lambda: finished_run("manual"), within=40, message="the manual run")
    report = (await json_of(await viewer.get(f"/api/v1/rmm/patch-policies/runs/{manual['result']['id']}")))["result"]
    (row,) = report["devices"]
    assert row["status"] == "reboot_scheduled" and row["reboot_required"], row
    assert row["patch_ids"] == ["openssl"] and "the logged-in user was warned" in row["reason"]
    assert report["run"]["counts"] == {"reboot_scheduled": 1}
    shutdown_log = tmp_path / "shutdown.log"
    await eventually(shutdown_log.exists, within=30, message="the reboot command on the agent")
    assert shutdown_log.read_text().startswith("-r +5 rmmhub: this computer restarts in 5 minute(s)")
    install = await json_of(
        await admin.post(
            "/api/v1/tools/rmm-get-command-result/invoke", json={"args": {"command_id": row["command_id"]}}
        )
    )
    assert install["result"]["status"] == "succeeded" and "rmmhub: reboot required" in install["result"]["stdout"]
    # The agent re-reads its updates after the install: only the non-security one is left.
    assert await eventually(lambda: _only_vim(pending), within=30, message="openssl no longer pending")


async def _only_vim(pending: Any) -> bool | None:
    return (await pending()) == ["vim"] or None
