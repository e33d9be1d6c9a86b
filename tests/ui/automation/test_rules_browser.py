"""Admin -> Alert rules in a real headless Chromium: a rule's dry run over the last 24 hours shows which
alerts it matches and what each action would do under today's policies (nothing runs); and the form that
creates a rule (match criteria, ordered actions) and Edit / Pause / Delete from the list, each a gate
invocation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Dialog, Page, expect
from sqlalchemy import func, select

from hub.core.caller import Caller, CallerKind
from hub.core.db import Database, utcnow
from hub.core.events import create_bus
from hub.core.notify import service as notify
from hub.core.notify.models import ChannelKind
from hub.core.notify.schemas import ChannelIn
from hub.core.roles import Role
from native_rmm.automation import service
from native_rmm.automation.schemas import NotifyAction, RuleIn, RuleMatch, RuleOut, ScriptAction, TicketAction
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus, MetricName
from native_rmm.models.automation import AlertRuleRun
from native_rmm.models.scripts import ScriptOsType
from native_rmm.models.tickets import Ticket
from native_rmm.scripts.schemas import ScriptIn
from native_rmm.scripts.service import create_script
from policies.models import PolicyMode
from policies.pipeline import Gate
from policies.service import set_policy
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import LiveServer, Tenancy
from tests.ui.rmm.test_rmm_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "automation"


def _admin(tenancy: Tenancy) -> Caller:
    return Caller(user_id=tenancy.admin.id, label="alice", role=Role.ADMIN, org_id=tenancy.org_id, kind=CallerKind.UI)


async def _alerts(db: Database, tenancy: Tenancy) -> None:
    """A critical and a warning CPU alert of the last 24 hours, and a critical one 30 hours old."""
    now = utcnow()
    async with db.transaction() as session:
        for i, (severity, hours) in enumerate(
            [(AlertSeverity.CRITICAL, 2), (AlertSeverity.WARNING, 3), (AlertSeverity.CRITICAL, 30)]
        ):
            seen = now - timedelta(hours=hours)
            session.add(
                Alert(
                    org_id=tenancy.org_id,
                    source=AlertSource.METRIC,
                    metric=MetricName.CPU,
                    severity=severity,
                    status=AlertStatus.RESOLVED,
                    message=f"CPU {95 - i}% on host-{i}",
                    first_seen_at=seen,
                    last_seen_at=seen,
                )
            )


async def _seed(db: Database, tenancy: Tenancy) -> int:
    await _alerts(db, tenancy)
    admin = _admin(tenancy)
    async with db.transaction() as session:
        rule = await service.create_rule(
            session,
            actor=admin,
            data=RuleIn(
                name="cpu critical",
                match=RuleMatch(severities=[AlertSeverity.CRITICAL]),
                actions=[TicketAction(), NotifyAction(channel_id=1)],
            ),
        )
    return rule.id


async def test_dry_run_shows_what_the_rule_would_have_done(
    page: Page, tenancy: Tenancy, db: Database, shots: Path
) -> None:
    rule_id = await _seed(db, tenancy)
    await sign_in(page, tenancy.admin, target="/admin/automation/rules")
    await page.get_by_role("button", name="Dry run cpu critical").click()
    result = page.get_by_test_id(f"dry-run-{rule_id}")
    # Only the critical alert of the last 24 hours: the 30-hour-old one is outside, the warning does not match.
    await expect(result).to_contain_text("1 of 2 alerts in the last 24 hours match")
    await expect(result.locator("tr[data-alert-id]")).to_have_count(1)
    await expect(result).to_contain_text("ticket: ask for approval of rmm-create-ticket")
    await expect(result).to_contain_text("notify: ask for approval of notify-post-message")
    await page.screenshot(path=shots / "alert-rule-dry-run.png", full_page=True)
    async with db.transaction() as session:  # a dry run runs and records nothing
        assert await session.scalar(select(func.count(Ticket.id))) == 0
        assert await session.scalar(select(func.count(AlertRuleRun.id))) == 0


async def _seed_form(db: Database, tenancy: Tenancy, live_server: LiveServer) -> int:
    """A channel, a remediation script, the alerts; the rule tools set to auto (their seeded policy asks)."""
    await _alerts(db, tenancy)
    hub = live_server.app.state.hub
    admin = _admin(tenancy)
    async with db.transaction() as session:
        created = await notify.create_channel(
            session,
            actor=admin,
            data=ChannelIn(name="noc hook", kind=ChannelKind.WEBHOOK, url="http://127.0.0.1:9/hook"),  # type: ignore[arg-type]
        )
        await create_script(
            session,
            Gate(registry=hub.registry, bus=create_bus(None, "browser-test"), settings=hub.settings),
            actor=admin,
            data=ScriptIn(
                name="Restart service",
                slug="restart-service",
                os_type=ScriptOsType.LINUX,
                shell="bash",
                body='systemctl restart "$UNIT"',
                parameters={"type": "object", "properties": {"unit": {"type": "string"}}},
            ),
        )
        for name in ("rmm-create-alert-rule", "rmm-update-alert-rule", "rmm-pause-alert-rule", "rmm-delete-alert-rule"):
            tool = hub.registry.resolve(f"native_rmm:{name}", tenancy.org_id)
            await set_policy(session, caller=admin, tool=tool, mode=PolicyMode.AUTO, note="browser test")
    return created.channel.id


async def _rules(db: Database, tenancy: Tenancy) -> list[RuleOut]:
    async with db.transaction() as session:
        return [RuleOut.of(r) for r in await service.list_rules(session, org_id=tenancy.org_id)]


async def test_rule_form_creates_dry_runs_edits_pauses_and_deletes(
    page: Page, tenancy: Tenancy, db: Database, live_server: LiveServer, shots: Path
) -> None:
    channel_id = await _seed_form(db, tenancy, live_server)
    await sign_in(page, tenancy.admin, target="/admin/automation/rules")
    form = page.get_by_role("form", name="Create an alert rule")
    await form.get_by_label("Rule name").fill("cpu critical: ticket, notify, restart")
    await form.get_by_role("group", name="Severity").get_by_label("critical").check()
    await form.get_by_role("group", name="Metric").get_by_label("cpu").check()
    await form.get_by_label("Action 1 kind").select_option("ticket")
    await form.get_by_label("Ticket priority").first.select_option("high")
    await form.get_by_label("Action 2 kind").select_option("notify")
    await form.get_by_role("group", name="Action 2").get_by_label("Channel").select_option(str(channel_id))
    a3 = form.get_by_role("group", name="Action 3")
    await form.get_by_label("Action 3 kind").select_option("script")
    await a3.get_by_label("Script", exact=True).select_option("restart-service")
    await a3.get_by_label("Script parameters (name=value a line)").fill("unit=nginx")
    await a3.get_by_label("Cool-down (minutes)").fill("30")
    await a3.get_by_label("Max attempts").fill("oops")
    await form.get_by_role("button", name="Create alert rule").click()
    # A bad number: the form answers 422 naming the field and keeps what was typed; nothing is created.
    await expect(page.get_by_test_id("rule-form-error")).to_contain_text("$.actions[2].max_attempts")
    form = page.get_by_role("form", name="Create an alert rule")
    await expect(form.get_by_label("Rule name")).to_have_value("cpu critical: ticket, notify, restart")
    assert await _rules(db, tenancy) == []
    a3 = form.get_by_role("group", name="Action 3")
    await a3.get_by_label("Max attempts").fill("2")
    await page.screenshot(path=shots / "alert-rule-form.png", full_page=True, caret="initial")
    await form.get_by_role("button", name="Create alert rule").click()
    await expect(page.locator("[data-outcome='done']")).to_contain_text("Create alert rule")

    [rule] = await _rules(db, tenancy)
    assert rule.match == RuleMatch(severities=[AlertSeverity.CRITICAL], metrics=[MetricName.CPU])
    assert [a.model_dump(mode="json") for a in rule.actions] == [
        TicketAction(priority="high").model_dump(mode="json"),  # type: ignore[arg-type]
        NotifyAction(channel_id=channel_id).model_dump(mode="json"),
        ScriptAction(
            script="restart-service", params={"unit": "nginx"}, cooldown_minutes=30, max_attempts=2
        ).model_dump(mode="json"),
    ]
    card = page.locator(f"article[data-rule-id='{rule.id}']")
    await expect(card).to_contain_text("restart-service (cool-down 30 min, at most 2")

    # Its dry run over the last 24 hours, shown under the rule.
    await page.get_by_role("button", name=f"Dry run {rule.name}").click()
    result = page.get_by_test_id(f"dry-run-{rule.id}")
    await expect(result).to_contain_text("1 of 2 alerts in the last 24 hours match")
    await expect(result).to_contain_text("ticket: ask for approval of rmm-create-ticket")
    await expect(result).to_contain_text("script: skip: the alert has no device to run a script on")
    await page.screenshot(path=shots / "alert-rule-created-dry-run.png", full_page=True, caret="initial")

    # Edit: rename, and drop the script (action 3 none).
    await card.get_by_role("link", name=f"Edit {rule.name}").click()
    form = page.get_by_role("form", name="Edit alert rule")
    await expect(
        form.get_by_role("group", name="Action 3").get_by_label("Script parameters (name=value a line)")
    ).to_have_value("unit=nginx")
    await form.get_by_label("Rule name").fill("cpu critical: ticket and notify")
    await form.get_by_label("Action 3 kind").select_option("")
    await form.get_by_role("button", name="Save alert rule").click()
    await expect(page.locator("[data-outcome='done']")).to_contain_text(
        "Save alert rule 'cpu critical: ticket and notify'"
    )
    [edited] = await _rules(db, tenancy)
    assert edited.id == rule.id and edited.name == "cpu critical: ticket and notify" and len(edited.actions) == 2

    await page.get_by_role("button", name="Pause cpu critical: ticket and notify").click()
    await expect(page.locator(f"article[data-rule-id='{rule.id}'][data-enabled='false']")).to_have_count(1)
    assert not (await _rules(db, tenancy))[0].enabled

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Delete cpu critical: ticket and notify").click()
    await expect(page.locator("[data-outcome='done']")).to_contain_text(f"Delete alert rule #{rule.id}")
    await expect(page.locator("article[data-rule-id]")).to_have_count(0)
    assert await _rules(db, tenancy) == []
