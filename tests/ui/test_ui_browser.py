"""The policy dashboard in a real headless Chromium against a live hub on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.conftest import LiveServer, Tenancy, TestUser
from tests.ui.conftest import UiTools, register_ui_tools, sign_in
from tests.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture
def tools(live_server: LiveServer) -> UiTools:
    """The UI test tools, registered in the live hub before any request."""
    return register_ui_tools(live_server.app.state.hub.registry)


@pytest_asyncio.fixture(loop_scope="module")
async def api(live_server: LiveServer) -> AsyncIterator[Any]:
    """``api(user)``: an httpx client for the live hub's REST API with the user's bearer token."""
    clients: list[httpx.AsyncClient] = []

    def make(user: TestUser) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {user.token}"})
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def request_restart(client: httpx.AsyncClient, device: str, reason: str = "spooler hung") -> int:
    response = await client.post(
        "/api/v1/tools/uitest:restart-service/invoke",
        json={"args": {"device": device, "service": "spooler"}, "reason": reason},
    )
    assert response.status_code == 202, response.text
    approval_id: int = response.json()["approval_id"]
    return approval_id


async def test_sign_in(page: Page, tenancy: Tenancy, artifacts: Path) -> None:
    await page.goto("/policies")
    await page.wait_for_url("**/login?next=/policies")
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill("not-her-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    await page.screenshot(path=artifacts / "login-wrong-password.png")

    await page.get_by_label("Password").fill(tenancy.admin.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/policies")
    await expect(page.get_by_role("heading", name="Policies", exact=True)).to_be_visible()
    await expect(page.get_by_label("Organisation")).to_have_text("Acme MSP")
    await expect(page.get_by_label("Signed in as")).to_have_text("alice")
    await expect(
        page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Admin")
    ).to_be_visible()
    await page.screenshot(path=artifacts / "policies-empty.png", full_page=True)

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/login")


async def test_approve_a_pending_request(
    page: Page, tenancy: Tenancy, tools: UiTools, api: Any, artifacts: Path
) -> None:
    approval_id = await request_restart(api(tenancy.operator), "pc-approve")
    await sign_in(page, tenancy.approver)
    row = page.locator(f"#approval-{approval_id}")
    await expect(row).to_contain_text("restart-service")
    await expect(row).to_contain_text("olga")
    await expect(row).to_contain_text("via api")
    await expect(row).to_contain_text('"device": "pc-approve"')
    await expect(row).to_contain_text("spooler hung")
    await page.screenshot(path=artifacts / "approvals-pending.png", full_page=True)

    await page.get_by_label(f"Note for approval #{approval_id}").fill("ok, after hours")
    async with page.expect_response(f"**/policies/approvals/{approval_id}/decide") as decided:
        await page.get_by_role("button", name=f"Approve #{approval_id}").click()
    assert (await decided.value).status == 200
    result = page.locator('[data-decision="executed"]')
    await expect(result).to_contain_text(f"Approval #{approval_id} approved")
    await expect(result).to_contain_text('"device": "pc-approve"')
    await expect(page.locator(f"#decided-{approval_id}")).to_contain_text("executed")
    await expect(row).to_have_count(0)
    await page.screenshot(path=artifacts / "approvals-approved.png", full_page=True)

    status = (await api(tenancy.admin).get(f"/api/v1/approvals/{approval_id}")).json()
    assert status["status"] == "executed"
    assert status["decided_by"] == "bob"
    assert status["decision_note"] == "ok, after hours"
    assert tools.calls == [("restart-service", {"device": "pc-approve", "service": "spooler"})]


async def test_a_live_refresh_in_flight_does_not_swallow_a_decision(
    page: Page, tenancy: Tenancy, tools: UiTools, api: Any
) -> None:
    """A refresh of the queue that is on its way when the approver clicks must not replace the form whose answer
    (the decision, or the refusal of their own request) is coming back: that refresh is not swapped in, and the queue
    refreshes again once the decision has landed."""
    approval_id = await request_restart(api(tenancy.operator), "pc-race")
    own_id = await request_restart(api(tenancy.approver), "pc-race-own", reason="my own")
    await sign_in(page, tenancy.approver)

    held: dict[str, Any] = {}
    arrived: dict[str, asyncio.Event] = {}

    step: dict[str, str] = {}

    def holder(kind: str) -> Any:
        async def hold(route: Any) -> None:
            # Only this step's page: a refresh that the previous step's decision set off may still be arriving.
            this_step = route.request.headers.get("x-test-step") == step.get("name")
            if this_step and kind in arrived and not arrived[kind].is_set():
                held[kind] = route
                arrived[kind].set()
            else:
                await route.continue_()

        return hold

    await page.route("**/policies/approvals", holder("refresh"))
    await page.route("**/decide", holder("decision"))
    for decide in (f"Approve #{own_id}", f"Approve #{approval_id}"):
        arrived.update(refresh=asyncio.Event(), decision=asyncio.Event())

        await page.goto("/policies")
        await expect(page.get_by_role("button", name=decide)).to_be_visible()
        step["name"] = decide
        await page.evaluate(
            "step => document.body.addEventListener('htmx:configRequest', e => e.detail.headers['X-Test-Step'] = step)",
            decide,
        )
        await page.evaluate("htmx.trigger(document.body, 'approvals-changed')")
        await asyncio.wait_for(arrived["refresh"].wait(), timeout=15)
        await page.get_by_role("button", name=decide).click()
        await asyncio.wait_for(arrived["decision"].wait(), timeout=15)
        # The refresh answers first, then the decision: the order in which the race bites.
        await page.evaluate(
            "window.refreshed = false; document.addEventListener('htmx:beforeSwap',"
            " e => { if (e.detail.requestConfig.elt.id === 'approval-queue') window.refreshed = true })"
        )
        await held["refresh"].continue_()
        await eventually(lambda: page.evaluate("window.refreshed"), within=15, message="the refresh answered")
        async with page.expect_response(lambda r: r.url.endswith("/decide")):
            await held["decision"].continue_()
        if decide.endswith(f"#{own_id}"):
            await expect(page.locator("#flash")).to_contain_text("it is your own request")
    await expect(page.locator('[data-decision="executed"]')).to_contain_text(f"Approval #{approval_id} approved")
    assert tools.calls == [("restart-service", {"device": "pc-race", "service": "spooler"})]


async def test_a_late_refresh_of_a_replaced_queue_keeps_the_opened_output(
    page: Page, tenancy: Tenancy, tools: UiTools, api: Any
) -> None:
    """A refresh answered after a newer answer replaced the queue is dropped: swapped into the detached copy, it
    carried the queue's preserved elements (the opened Output of a decided approval) off the page."""
    approval_id = await request_restart(api(tenancy.operator), "pc-late")
    await sign_in(page, tenancy.approver)
    await expect(page.get_by_role("button", name=f"Approve #{approval_id}")).to_be_visible()
    held: list[Any] = []
    arrived = asyncio.Event()

    async def hold(route: Any) -> None:
        if arrived.is_set():
            await route.continue_()
            return
        held.append(route)
        arrived.set()

    await page.route("**/policies/approvals", hold)
    # Mark when the page has handled the refresh's answer (XHR loadend comes after htmx's own load handler).
    await page.evaluate(
        """(() => { const open = XMLHttpRequest.prototype.open; window.lateAnswered = false;
        XMLHttpRequest.prototype.open = function (method, url) {
          if (String(url).endsWith("/policies/approvals") && !window.lateHooked) {
            window.lateHooked = true; this.addEventListener("loadend", () => { window.lateAnswered = true; });
          }
          return open.apply(this, arguments);
        }; })()"""
    )
    await page.evaluate("htmx.trigger(document.body, 'approvals-changed')")
    await asyncio.wait_for(arrived.wait(), timeout=15)
    await page.get_by_role("button", name=f"Approve #{approval_id}").click()
    output = page.locator(f"#approval-output-body-{approval_id}")
    await page.get_by_test_id(f"approval-output-{approval_id}").click()
    await expect(output).to_contain_text('"device": "pc-late"')
    await held[0].continue_()
    await eventually(lambda: page.evaluate("window.lateAnswered"), within=15, message="the late refresh answered")
    await page.unroute("**/policies/approvals")
    await expect(output).to_contain_text('"device": "pc-late"')
    await page.evaluate("htmx.trigger(document.body, 'approvals-changed')")  # a refresh of the page's own queue
    await expect(page.locator(f"#decided-{approval_id}")).to_contain_text("executed")
    await expect(output).to_contain_text('"device": "pc-late"')


async def test_deny_with_a_note_and_refuse_self_approval(
    page: Page, tenancy: Tenancy, tools: UiTools, api: Any, artifacts: Path
) -> None:
    denied_id = await request_restart(api(tenancy.operator), "pc-deny")
    own_id = await request_restart(api(tenancy.approver), "pc-own", reason="my own")
    await sign_in(page, tenancy.approver)

    await page.get_by_label(f"Note for approval #{denied_id}").fill("not during business hours")
    await page.get_by_role("button", name=f"Deny #{denied_id}").click()
    await expect(page.locator('[data-decision="denied"]')).to_contain_text("not during business hours")
    await expect(page.locator(f"#decided-{denied_id}")).to_contain_text("denied")

    await page.get_by_role("button", name=f"Approve #{own_id}").click()
    await expect(page.locator("#flash")).to_contain_text("it is your own request")
    await page.screenshot(path=artifacts / "approvals-denied-and-self.png", full_page=True)

    approvals = {a["id"]: a for a in (await api(tenancy.admin).get("/api/v1/approvals")).json()}
    assert approvals[denied_id]["status"] == "denied"
    assert approvals[denied_id]["decision_note"] == "not during business hours"
    assert approvals[own_id]["status"] == "pending"
    assert tools.calls == []


async def test_queue_updates_live(page: Page, tenancy: Tenancy, tools: UiTools, api: Any, artifacts: Path) -> None:
    await sign_in(page, tenancy.approver2)
    await expect(page.locator("body[data-live='on']")).to_have_count(1)
    await page.evaluate("window.__notReloaded = true")
    approval_id = await request_restart(api(tenancy.operator), "pc-live", reason="arrives while watching")

    await expect(page.locator(f"#approval-{approval_id}")).to_contain_text("arrives while watching")
    await expect(page.locator("#pending-badge")).to_have_text("1")
    assert await page.evaluate("window.__notReloaded === true")
    await page.screenshot(path=artifacts / "approvals-live.png", full_page=True)


async def test_admin_changes_a_policy(page: Page, tenancy: Tenancy, tools: UiTools, api: Any, artifacts: Path) -> None:
    await sign_in(page, tenancy.admin)
    await page.goto("/policies?tab=policies")
    await page.get_by_label("Source").select_option("uitest")
    # The filtered table is swapped in, then bound by htmx a moment later: act only on the bound one.
    await expect(page.locator('#policy-table[data-source="uitest"][data-bound]')).to_have_count(1)
    row = page.locator('#policy-table[data-bound] tr[data-tool="uitest:restart-service"]')
    await expect(row).to_contain_text("write verb 'restart'")
    await expect(page.locator('tr[data-tool="uitest:wipe-device"]')).to_contain_text("never")

    async with page.expect_response("**/policies/tools/mode") as changed:
        await page.get_by_label("Mode for uitest:restart-service").select_option("auto")
    assert (await changed.value).status == 200
    row = page.locator('tr[data-tool="uitest:restart-service"][data-bound]')  # the row swapped in, once bound
    await expect(row).to_have_attribute("data-mode", "auto")
    await expect(row).to_contain_text("set by alice")
    await page.screenshot(path=artifacts / "policies-changed.png", full_page=True)

    policies = {p["tool"]: p for p in (await api(tenancy.viewer).get("/api/v1/policies")).json()}
    assert (policies["uitest:restart-service"]["mode"], policies["uitest:restart-service"]["origin"]) == (
        "auto",
        "admin",
    )

    await row.get_by_role("button", name="Reset uitest:restart-service to default").click()
    await expect(row).to_have_attribute("data-mode", "approval")
    policies = {p["tool"]: p for p in (await api(tenancy.viewer).get("/api/v1/policies")).json()}
    assert policies["uitest:restart-service"]["origin"] == "classifier"


async def test_viewer_sees_no_decision_buttons(
    page: Page, tenancy: Tenancy, tools: UiTools, api: Any, artifacts: Path
) -> None:
    approval_id = await request_restart(api(tenancy.operator), "pc-viewer")
    await sign_in(page, tenancy.viewer)
    await expect(page.locator(f"#approval-{approval_id}")).to_be_visible()
    await expect(page.get_by_role("button", name=f"Approve #{approval_id}")).to_have_count(0)
    await expect(page.get_by_role("button", name=f"Deny #{approval_id}")).to_have_count(0)
    await expect(page.get_by_text("Approvers and admins decide these requests.")).to_be_visible()
    await page.goto("/policies?tab=policies")
    await expect(page.locator('tr[data-tool="uitest:restart-service"]')).to_contain_text("approval needed")
    await expect(page.get_by_label("Mode for uitest:restart-service")).to_have_count(0)
    await page.screenshot(path=artifacts / "viewer-readonly.png", full_page=True)


async def test_audit_log_and_verify(page: Page, tenancy: Tenancy, tools: UiTools, api: Any, artifacts: Path) -> None:
    await request_restart(api(tenancy.operator), "pc-audit")
    await sign_in(page, tenancy.admin)
    await page.goto("/policies?tab=audit")
    table = page.get_by_role("table", name="Audit log")
    await expect(table).to_contain_text("approval.requested")
    await expect(table).to_contain_text("uitest:restart-service")
    await expect(table).to_contain_text("auth.login")

    await page.get_by_label("Event").select_option("approval.requested")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**event=approval.requested**")
    await expect(table.locator("tbody tr")).to_have_count(1)

    await page.get_by_role("button", name="Verify chain").click()
    await expect(page.locator('[data-verify="ok"]')).to_contain_text("Audit chain intact")
    await page.screenshot(path=artifacts / "audit-verified.png", full_page=True)
