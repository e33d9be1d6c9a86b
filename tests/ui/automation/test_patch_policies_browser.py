"""The RMM Patch policies tab in a real headless Chromium: create a policy with the form (through the gate),
run it now, and read the run's per-device report (installed / failed with the reason)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select, update

from agent.protocol import CommandStatus
from hub.core.caller import Caller, CallerKind
from hub.core.db import Database
from hub.core.events import create_bus
from hub.core.roles import Role
from native_rmm.automation.patch_runner import PatchPolicyRunner
from native_rmm.models.automation import PatchRunDevice
from native_rmm.models.commands import Command
from native_rmm.models.devices import PatchRecord
from policies.models import PolicyMode
from policies.pipeline import Gate
from policies.service import set_policy
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import LiveServer, Tenancy
from tests.native_rmm.conftest import make_device
from tests.ui.rmm.test_rmm_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "automation"


async def test_patch_policies_tab_creates_runs_and_reports(
    page: Page, tenancy: Tenancy, db: Database, live_server: LiveServer, shots: Path
) -> None:
    hub = live_server.app.state.hub
    web = await make_device(db, tenancy.org_id, hostname="LON-WEB-01")
    app = await make_device(db, tenancy.org_id, hostname="LON-APP-02")
    admin = Caller(user_id=tenancy.admin.id, label="alice", role=Role.ADMIN, org_id=tenancy.org_id, kind=CallerKind.UI)
    async with db.transaction() as session:
        for name in ("rmm-create-patch-policy", "rmm-run-patch-policy", "rmm-install-patches"):
            tool = hub.registry.resolve(f"native_rmm:{name}", tenancy.org_id)
            await set_policy(session, caller=admin, tool=tool, mode=PolicyMode.AUTO, note="browser test")
        session.add_all(
            [
                PatchRecord(device_id=web, key="openssl", title="openssl 3.0.11 -> 3.0.13", severity="security"),
                PatchRecord(device_id=app, key="libssl3", title="libssl3", severity="security"),
                PatchRecord(device_id=app, key="vim", title="vim", severity=None),
            ]
        )

    await sign_in(page, tenancy.admin, target="/rmm?tab=patch-policies")
    await page.get_by_label("Name").fill("Unassigned security")
    await page.get_by_label("Scope").select_option(label="Customer: Unassigned")
    await page.get_by_role("checkbox", name="critical").check()
    await page.get_by_label("Maintenance window").fill("30 1 * * 6")
    await page.get_by_label("Time zone").fill("Europe/London")
    await page.get_by_label("Reboot").select_option("never")
    await page.get_by_role("button", name="Create patch policy").click()
    await expect(page.locator("[data-outcome='done']")).to_contain_text("Create patch policy 'Unassigned security'")
    row = page.locator("tr[data-patch-policy-id]")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("security, critical")
    await expect(row).to_contain_text("30 1 * * 6")
    await expect(row).to_contain_text("customer: Unassigned")

    await page.get_by_role("button", name="Run Unassigned security now").click()
    await expect(page.locator("[data-outcome='done']")).to_contain_text("Run patch policy")
    await expect(page.locator("tr[data-patch-run-id][data-run-status='requested']")).to_have_count(1)

    # The leader's runner (its own gate here; the page's hub runs no scheduler) and the agents' answers.
    runner = PatchPolicyRunner(
        db, Gate(registry=hub.registry, bus=create_bus(None, "browser-test"), settings=hub.settings)
    )
    assert await runner.tick() == 1
    async with db.transaction() as session:
        commands = dict((await session.execute(select(PatchRunDevice.device_id, PatchRunDevice.command_id))).all())
        await session.execute(
            update(Command).where(Command.id == commands[web]).values(status=CommandStatus.SUCCEEDED, exit_code=0)
        )
        await session.execute(
            update(Command)
            .where(Command.id == commands[app])
            .values(status=CommandStatus.FAILED, exit_code=100, stderr="E: Unable to locate package libssl3")
        )
    await runner.tick()

    await page.goto("/rmm?tab=patch-policies")
    done = page.locator("tr[data-patch-run-id][data-run-status='done']")
    await expect(done).to_contain_text("1 failed, 1 installed")
    await done.get_by_role("button", name="Report of run").click()
    report = page.get_by_role("table", name="Report of run")
    await expect(page.locator(".patch-run-report[data-run-status='done']")).to_have_count(1)
    await expect(report.locator(f"tr[data-device-id='{web}'][data-device-status='installed']")).to_contain_text(
        "openssl"
    )
    failed = report.locator(f"tr[data-device-id='{app}'][data-device-status='failed']")
    await expect(failed).to_contain_text("exit code 100: E: Unable to locate package libssl3")
    await expect(failed).not_to_contain_text("vim")
    await page.screenshot(path=shots / "rmm-patch-policies.png", full_page=True)

    # The device's Patches tab names the policy that governs it and its last result there.
    await page.goto(f"/rmm/devices/{app}?tab=patches")
    line = page.get_by_test_id("device-patch-policy")
    await expect(line).to_contain_text("Patch policy Unassigned security (customer: Unassigned)")
    await expect(line).to_contain_text("exit code 100: E: Unable to locate package libssl3")
