"""The RMM Schedules tab in a real headless Chromium: next run, last result, run history linked to the
run's commands, and Pause through the gate; and the form that creates, edits and deletes a schedule
(every submit a gate invocation: rmm-create-schedule, rmm-update-schedule, rmm-delete-schedule)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Dialog, Page, expect

from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from hub.core.events import create_bus
from hub.core.roles import Role
from native_rmm.automation import schedules
from native_rmm.automation.schedule_runner import ScheduleRunner
from native_rmm.automation.schedule_schemas import CronSpec, IntervalSpec, ScheduleIn, ScheduleOut, TargetSpec
from native_rmm.models.scripts import ScriptOsType
from native_rmm.scripts.schemas import ScriptIn
from native_rmm.scripts.service import create_script
from policies.models import PolicyMode
from policies.pipeline import Gate
from policies.service import set_policy
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import LiveServer, Tenancy
from tests.native_rmm.conftest import make_device
from tests.ui.rmm.test_rmm_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "automation"


async def _seed(db: Database, tenancy: Tenancy, hub: HubContext) -> int:
    """Two schedules, one of which already ran (its tick run here with the hub's tools and its own bus)."""
    device_id = await make_device(db, tenancy.org_id, hostname="LON-WEB-01")
    admin = Caller(user_id=tenancy.admin.id, label="alice", role=Role.ADMIN, org_id=tenancy.org_id, kind=CallerKind.UI)
    async with db.transaction() as session:
        tool = hub.registry.resolve("native_rmm:rmm-run-command", tenancy.org_id)
        await set_policy(session, caller=admin, tool=tool, mode=PolicyMode.AUTO, note="browser test")
        nightly = await schedules.create_schedule(
            session,
            actor=admin,
            secret_key=hub.settings.secret,
            approval_id=None,
            data=ScheduleIn(
                name="nightly disk report",
                tool="run-command",
                args={"command": "df -h"},
                target=TargetSpec(kind="device", ids=[device_id]),
                trigger=CronSpec(cron="30 2 * * *"),
                timezone="Europe/London",
            ),
        )
        await schedules.create_schedule(
            session,
            actor=admin,
            secret_key=hub.settings.secret,
            approval_id=None,
            data=ScheduleIn(
                name="hourly uptime",
                tool="run-command",
                args={"command": "uptime"},
                target=TargetSpec(kind="site", ids=[1]),
                trigger=IntervalSpec(seconds=3600),
                end_at=utcnow() + timedelta(days=30),
            ),
        )
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
    # caret="initial": hiding the caret puts style="" on inputs, which htmx then copies while settling (a CSP error)
    await page.screenshot(path=shots / "rmm-schedules.png", full_page=True, caret="initial")
    await page.get_by_role("button", name="Pause nightly disk report").click()
    await expect(page.locator(f"tr[data-schedule-id='{schedule_id}'][data-paused='true']")).to_have_count(1)
    await expect(page.locator("[data-outcome='done']")).to_contain_text("Pause schedule")
    await expect(page.get_by_test_id(f"next-run-{schedule_id}")).to_have_text("paused")


async def _policies(db: Database, tenancy: Tenancy, hub: HubContext, mode: PolicyMode, *tools: str) -> None:
    admin = Caller(user_id=tenancy.admin.id, label="alice", role=Role.ADMIN, org_id=tenancy.org_id, kind=CallerKind.UI)
    async with db.transaction() as session:
        for name in tools:
            tool = hub.registry.resolve(f"native_rmm:{name}", tenancy.org_id)
            await set_policy(session, caller=admin, tool=tool, mode=mode, note="browser test")


async def _seed_form(db: Database, tenancy: Tenancy, hub: HubContext) -> int:
    device_id = await make_device(db, tenancy.org_id, hostname="LON-WEB-01")
    admin = Caller(user_id=tenancy.admin.id, label="alice", role=Role.ADMIN, org_id=tenancy.org_id, kind=CallerKind.UI)
    gate = Gate(registry=hub.registry, bus=create_bus(None, "browser-test"), settings=hub.settings)
    async with db.transaction() as session:
        await create_script(
            session,
            gate,
            actor=admin,
            data=ScriptIn(
                name="Disk report",
                slug="disk-report",
                os_type=ScriptOsType.LINUX,
                shell="bash",
                body='df -h; echo "$DAYS"',
                parameters={"type": "object", "properties": {"days": {"type": "integer", "minimum": 1}}},
            ),
        )
    await _policies(
        db, tenancy, hub, PolicyMode.AUTO, "rmm-create-schedule", "rmm-update-schedule", "rmm-delete-schedule"
    )
    return device_id


async def _stored(db: Database, tenancy: Tenancy) -> list[ScheduleOut]:
    async with db.transaction() as session:
        return [ScheduleOut.of(s) for s in await schedules.list_schedules(session, org_id=tenancy.org_id)]


async def test_schedule_form_creates_edits_and_deletes_through_the_gate(
    page: Page, tenancy: Tenancy, db: Database, live_server: LiveServer, shots: Path
) -> None:
    device_id = await _seed_form(db, tenancy, live_server.app.state.hub)
    await sign_in(page, tenancy.admin, target="/rmm?tab=schedules")
    await page.get_by_test_id("new-schedule-toggle").click()
    form = page.get_by_role("form", name="Create a schedule")
    await form.get_by_label("Name", exact=True).fill("weekly disk report")
    await form.get_by_label("What").select_option("run-script")
    await form.get_by_label("Script", exact=True).select_option("disk-report")
    await form.get_by_label("Parameters (one name=value a line)").fill("days=7")
    await form.get_by_label("Target kind").select_option("device")
    await form.get_by_label("Devices").select_option(str(device_id))
    await form.get_by_label("Repeat").select_option("cron")
    await form.get_by_label("Cron (min hour day month weekday)").fill("not a cron")
    await form.get_by_label("Time zone").fill("Europe/London")
    await form.get_by_label("End (local time, optional)").fill("2031-06-30T18:00")
    await form.get_by_label("Missed while the hub was down").select_option("run_late")
    await form.get_by_role("button", name="Create schedule").click()
    # A bad cron line: the gate's schema check answers 422 naming the field; the form keeps what was typed.
    error = page.get_by_test_id("schedule-form-error")
    await expect(error).to_contain_text("$.trigger")
    await expect(error).to_contain_text("not a crontab line")
    form = page.get_by_role("form", name="Create a schedule")
    await expect(form.get_by_label("Name", exact=True)).to_have_value("weekly disk report")
    assert await _stored(db, tenancy) == []

    await form.get_by_label("Cron (min hour day month weekday)").fill("30 2 * * 1")
    await page.screenshot(path=shots / "rmm-schedule-form.png", full_page=True, caret="initial")
    await form.get_by_role("button", name="Create schedule").click()
    await expect(page.locator("[data-outcome='done']")).to_contain_text("Create schedule 'weekly disk report'")
    row = page.locator("tr[data-schedule-id]", has_text="weekly disk report")
    await expect(row).to_contain_text("30 2 * * 1")
    await expect(row).to_contain_text("Europe/London; misfire: run_late")
    [made] = await _stored(db, tenancy)
    assert made.tool == "run-script" and made.args == {"script": "disk-report", "params": {"days": 7}}
    assert made.target == TargetSpec(kind="device", ids=[device_id])
    assert made.timezone == "Europe/London" and made.misfire == "run_late"
    assert made.end_at is not None and made.end_at.isoformat().startswith("2031-06-30T17:00")  # BST is UTC+1
    await page.screenshot(path=shots / "rmm-schedule-created.png", full_page=True, caret="initial")

    # Edit: a tag target on a 30-minute interval with a standing approval.
    await page.get_by_role("button", name="Edit weekly disk report").click()
    form = page.get_by_role("form", name="Edit schedule")
    await expect(form.get_by_label("Parameters (one name=value a line)")).to_have_value("days=7")
    await form.get_by_label("Target kind").select_option("tag")
    await form.get_by_label("Tag").fill("web")
    await form.get_by_label("Repeat").select_option("interval")
    await form.get_by_label("Every (minutes)").fill("30")
    await form.get_by_role("button", name="Save schedule").click()
    await expect(page.locator("[data-outcome='done']")).to_contain_text("Save schedule 'weekly disk report'")
    await expect(row).to_contain_text("tag web")
    await expect(row).to_contain_text("every 1800 s")
    [edited] = await _stored(db, tenancy)
    assert edited.id == made.id and edited.target == TargetSpec(kind="tag", name="web")

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Delete weekly disk report").click()
    await expect(page.locator("[data-outcome='done']")).to_contain_text(f"Delete schedule #{made.id}")
    await expect(page.locator("tr[data-schedule-id]")).to_have_count(0)
    assert await _stored(db, tenancy) == []


async def test_schedule_form_asks_for_approval_under_the_default_policy(
    page: Page, tenancy: Tenancy, db: Database, live_server: LiveServer
) -> None:
    device_id = await make_device(db, tenancy.org_id, hostname="LON-DB-01")
    await sign_in(page, tenancy.operator, target="/rmm?tab=schedules")
    await page.get_by_test_id("new-schedule-toggle").click()
    form = page.get_by_role("form", name="Create a schedule")
    await form.get_by_label("Name", exact=True).fill("nightly uptime")
    await form.get_by_label("What").select_option("run-command")
    await form.get_by_label("Command", exact=True).fill("uptime")
    await form.get_by_label("Devices").select_option(str(device_id))
    await form.get_by_label("Standing approval: approve once, runs need no further approval").check()
    await form.get_by_label("Reason (for the approver)").fill("nightly health check")
    await form.get_by_role("button", name="Create schedule").click()
    # rmm-create-schedule is a write: under its seeded policy the request waits for an approver.
    await expect(page.locator("[data-outcome='pending']")).to_contain_text("waits for an approver")
    assert await _stored(db, tenancy) == []
