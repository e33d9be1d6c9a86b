"""Admin -> Alert rules in a real headless Chromium: a rule's dry run over the last 24 hours shows which
alerts it matches and what each action would do under today's policies (nothing runs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect
from sqlalchemy import func, select

from hub.core.caller import Caller, CallerKind
from hub.core.db import Database, utcnow
from hub.core.roles import Role
from native_rmm.automation import service
from native_rmm.automation.schemas import NotifyAction, RuleIn, RuleMatch, TicketAction
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus, MetricName
from native_rmm.models.automation import AlertRuleRun
from native_rmm.models.tickets import Ticket
from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import LiveServer, Tenancy
from tests.csp import watch_csp
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


async def _seed(db: Database, tenancy: Tenancy) -> int:
    now = utcnow()
    admin = Caller(user_id=tenancy.admin.id, label="alice", role=Role.ADMIN, org_id=tenancy.org_id, kind=CallerKind.UI)
    async with db.transaction() as session:
        for i, (severity, hours) in enumerate([(AlertSeverity.CRITICAL, 2), (AlertSeverity.WARNING, 3),
                                               (AlertSeverity.CRITICAL, 30)]):  # fmt: skip
            seen = now - timedelta(hours=hours)
            session.add(Alert(org_id=tenancy.org_id, source=AlertSource.METRIC, metric=MetricName.CPU,
                              severity=severity, status=AlertStatus.RESOLVED, message=f"CPU {95 - i}% on host-{i}",
                              first_seen_at=seen, last_seen_at=seen))  # fmt: skip
        rule = await service.create_rule(session, actor=admin, data=RuleIn(
            name="cpu critical", match=RuleMatch(severities=[AlertSeverity.CRITICAL]),
            actions=[TicketAction(), NotifyAction(channel_id=1)]))  # fmt: skip
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
