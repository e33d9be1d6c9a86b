"""The RMM Schedules tab in a real headless Chromium: next run, last result, run history linked to the
run's commands, and Pause through the gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from hub.core.events import create_bus
from hub.core.roles import Role
from native_rmm.automation import schedules
from native_rmm.automation.schedule_runner import ScheduleRunner
from native_rmm.automation.schedule_schemas import CronSpec, IntervalSpec, ScheduleIn, TargetSpec
from policies.models import PolicyMode
from policies.pipeline import Gate
from policies.service import set_policy
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import LiveServer, Tenancy
from tests.csp import watch_csp
from tests.native_rmm.conftest import make_device
from tests.ui.rmm.test_rmm_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "automation"


@pytest.fixture(scope="module")
def shots(artifacts: Path) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, live_server: LiveServer) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(10_000)
    csp = await watch_csp(context)
    tab = await context.new_page()
    yield tab
    await context.close()
    csp.check()


async def _seed(db: Database, tenancy: Tenancy, hub: HubContext) -> int:
    """Two schedules, one of which already ran (its tick run here with the hub's tools and its own bus)."""
    device_id = await make_device(db, tenancy.org_id, hostname="LON-WEB-01")
    admin = Caller(user_id=tenancy.admin.id, label="alice", role=Role.ADMIN, org_id=tenancy.org_id, kind=CallerKind.UI)
    async with db.transaction() as session:
        tool = hub.registry.resolve("native_rmm:rmm-run-command", tenancy.org_id)
        await set_policy(session, caller=admin, tool=tool, mode=PolicyMode.AUTO, note="browser test")
        nightly = await schedules.create_schedule(session, actor=admin, secret_key=hub.settings.secret, approval_id=None,
            data=ScheduleIn(name="nightly disk report", tool="run-command", args={"command": "df -h"},
                            target=TargetSpec(kind="device", ids=[device_id]), trigger=CronSpec(cron="30 2 * * *"),
                            timezone="Europe/London"))  # fmt: skip
        await schedules.create_schedule(session, actor=admin, secret_key=hub.settings.secret, approval_id=None,
            data=ScheduleIn(name="hourly uptime", tool="run-command", args={"command": "uptime"},
                            target=TargetSpec(kind="site", ids=[1]), trigger=IntervalSpec(seconds=3600),
                            end_at=utcnow() + timedelta(days=30)))  # fmt: skip
        slot = nightly.next_run_at
    gate = Gate(registry=hub.registry, bus=create_bus(None, "browser-test"), settings=hub.settings)
    assert slot is not None
    assert await ScheduleRunner(db, gate).tick(now=slot) == 1
    return nightly.id


async def test_schedules_tab_shows_runs_and_pauses(
    page: Page, tenancy: Tenancy, db: Database, live_server: LiveServer, shots: Path
) -> None:
    schedule_id = await _seed(db, tenancy, live_server.app.state.hub)
    await sign_in(page, tenancy.admin, target="/rmm?tab=schedules")
    row = page.locator(f"tr[data-schedule-id='{schedule_id}']")
    await expect(row).to_contain_text("nightly disk report")
    await expect(row).to_contain_text("30 2 * * *")
    await expect(page.get_by_test_id(f"next-run-{schedule_id}")).to_contain_text("UTC")
    runs = page.get_by_role("table", name="Runs of nightly disk report")
    await expect(runs.locator("tr[data-run-status='done']")).to_have_count(1)
    await expect(runs.get_by_role("link", name="#1")).to_have_attribute("href", "/rmm/devices/1/commands/1")
    await expect(page.locator("tr[data-schedule-id]")).to_have_count(2)
    await page.screenshot(path=shots / "rmm-schedules.png", full_page=True)
    await page.get_by_role("button", name="Pause nightly disk report").click()
    await expect(page.locator(f"tr[data-schedule-id='{schedule_id}'][data-paused='true']")).to_have_count(1)
    await expect(page.locator("[data-outcome='done']")).to_contain_text("Pause schedule")
    await expect(page.get_by_test_id(f"next-run-{schedule_id}")).to_have_text("paused")
