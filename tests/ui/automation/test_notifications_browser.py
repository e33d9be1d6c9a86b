"""Admin -> Notifications in a real headless Chromium: create a webhook channel (secret shown once),
press Test against a real signed-webhook receiver, and see the delivery log. Screenshots go to
``tests/artifacts/automation/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import Dialog, Page, expect

from tests.conftest import ARTIFACTS as ROOT_ARTIFACTS
from tests.conftest import Tenancy
from tests.hub.notify.conftest import Inbox, Receiver, smtp_server, webhook_receiver  # noqa: F401 (fixtures)
from tests.ui.rmm.test_rmm_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
SHOTS = ROOT_ARTIFACTS / "automation"


async def test_admin_creates_and_tests_a_webhook_channel(
    page: Page,
    tenancy: Tenancy,
    shots: Path,
    webhook_receiver: Receiver,  # noqa: F811
) -> None:
    await sign_in(page, tenancy.admin, target="/admin/notifications")
    await page.get_by_label("Name").fill("ops hook")
    await page.get_by_label("Kind").select_option("webhook")
    await page.get_by_label("Webhook URL").fill(webhook_receiver.url)
    await page.get_by_role("button", name="Create channel").click()
    secret = page.get_by_test_id("signing-secret")
    await expect(secret).to_contain_text("shown once")
    webhook_receiver.secret = (await secret.locator("code").first.inner_text()).strip()
    await page.get_by_role("button", name="Test ops hook").click()
    await expect(page.get_by_role("status").first).to_contain_text("Test message delivered")
    await expect(page.locator("tr[data-delivery-status='delivered']")).to_have_count(1)
    assert webhook_receiver.bad_signatures == 0 and len(webhook_receiver.received) == 1
    # The secret is not on the page any more.
    await page.goto("/admin/notifications")
    assert webhook_receiver.secret not in await page.content()
    await page.screenshot(path=shots / "admin-notifications.png", full_page=True)


async def test_admin_edits_an_email_channel_and_rotates_a_webhook_secret(
    page: Page,
    tenancy: Tenancy,
    shots: Path,
    smtp_server: tuple[Controller, Inbox],  # noqa: F811
    webhook_receiver: Receiver,  # noqa: F811
) -> None:
    controller, inbox = smtp_server
    await sign_in(page, tenancy.admin, target="/admin/notifications")
    new = page.get_by_role("form", name="New channel")
    await new.get_by_label("Name").fill("noc mail")
    await new.get_by_label("Kind").select_option("email")
    await new.get_by_label("SMTP host").fill("192.0.2.1")  # wrong on purpose: fixed by the edit
    await new.get_by_label("Port").fill("2525")
    await new.get_by_label("SMTP user").fill("mailer")
    await new.get_by_label("SMTP password").fill("s3cret")
    await new.get_by_label("From").fill("rmmhub@example.test")
    await new.get_by_label("To (comma-separated)").fill("noc@example.test")
    await new.get_by_role("button", name="Create channel").click()
    await expect(page.get_by_role("status").first).to_contain_text("Channel 'noc mail' created")

    await page.get_by_role("link", name="Edit noc mail").click()
    edit = page.get_by_role("form", name="Edit channel")
    await expect(edit.get_by_label("SMTP host")).to_have_value("192.0.2.1")
    await expect(edit.get_by_label("New SMTP password")).to_have_value("")  # never sent back to the browser
    assert "s3cret" not in await page.content()
    await edit.get_by_label("SMTP host").fill("127.0.0.1")
    await edit.get_by_label("Port").fill(str(controller.port))
    await edit.get_by_label("TLS mode").select_option("none")
    await page.screenshot(path=shots / "admin-notifications-edit.png", full_page=True)
    await edit.get_by_role("button", name="Save channel").click()
    await expect(page.get_by_role("status").first).to_contain_text("Channel 'noc mail' saved")
    row = page.locator("tr[data-channel-id]", has_text="noc mail")
    await expect(row).to_contain_text(f"127.0.0.1:{controller.port} -> noc@example.test")
    await page.get_by_role("button", name="Test noc mail").click()
    await expect(page.get_by_role("status").first).to_contain_text("Test message delivered")
    assert inbox.logins == [("mailer", "s3cret")]  # the blank password field kept the stored one

    # A webhook: the secret is shown once on create, and once more (a new one) on rotation.
    new = page.get_by_role("form", name="New channel")
    await new.get_by_label("Name").fill("ops hook")
    await new.get_by_label("Kind").select_option("webhook")
    await new.get_by_label("Webhook URL").fill(webhook_receiver.url)
    await new.get_by_role("button", name="Create channel").click()
    first = (await page.get_by_test_id("signing-secret").locator("code").first.inner_text()).strip()

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Rotate secret of ops hook").click()
    await expect(page.get_by_role("status").first).to_contain_text("has a new signing secret")
    second = (await page.get_by_test_id("signing-secret").locator("code").first.inner_text()).strip()
    assert second and second != first
    await page.screenshot(path=shots / "admin-notifications-rotated.png", full_page=True)
    webhook_receiver.secret = second
    await page.get_by_role("button", name="Test ops hook").click()
    await expect(page.get_by_role("status").first).to_contain_text("Test message delivered")
    assert webhook_receiver.bad_signatures == 0 and len(webhook_receiver.received) == 1
    await page.goto("/admin/notifications")
    assert second not in await page.content()
