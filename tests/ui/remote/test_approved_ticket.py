"""An approval-gated remote tab: the panel offers a window that waits, and only the requester gets the
ticket the approved run minted (for the device and kind that were asked for)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from hub.core.context import HubContext
from hub.core.tickets import TicketRole, verify
from policies.models import PolicyMode
from policies.service import set_policy
from tests.conftest import SECRET, Tenancy, TestUser
from tests.ui.remote.test_remote_sessions import caller_of
from tests.ui.rmm.conftest import Fleet

UiAs = Callable[[TestUser], Awaitable[httpx.AsyncClient]]


async def test_only_the_requester_gets_the_approved_ticket(
    enroll: Fleet, ui_as: UiAs, tenancy: Tenancy, hub: HubContext
) -> None:
    web = await enroll("LON-APP-01")
    async with hub.db.transaction() as session:
        tool = hub.registry.resolve("rmm-open-shell-session", tenancy.org_id)
        await set_policy(session, caller=caller_of(tenancy.admin), tool=tool, mode=PolicyMode.APPROVAL)
    operator = await ui_as(tenancy.operator)
    panel = await operator.post(f"/rmm/devices/{web.device_id}/remote/shell")
    assert 'id="remote-window-link"' in panel.text and "#kind=shell&amp;approval=" in panel.text
    asked = (await operator.post(f"/rmm/devices/{web.device_id}/remote/shell/ticket")).json()
    assert asked["status"] == "pending_approval"
    approval_id = asked["approval_id"]
    route = f"/rmm/devices/{web.device_id}/remote/shell/approved/{approval_id}"
    assert (await operator.post(route)).json()["status"] == "pending_approval"

    approver = await ui_as(tenancy.approver)
    assert (await approver.post(route)).status_code == 404  # not the approver's session to join
    decided = await approver.post(f"/api/v1/approvals/{approval_id}/approve", json={"note": "go ahead"})
    assert decided.status_code == 200, decided.text
    assert (await approver.post(route)).status_code == 404
    wrong_kind = await operator.post(f"/rmm/devices/{web.device_id}/remote/screen/approved/{approval_id}")
    assert wrong_kind.status_code == 404 and "not your screen session" in wrong_kind.json()["message"]

    grant = (await operator.post(route)).json()
    assert grant["status"] == "done" and grant["message"] == f"approved by {tenancy.approver.username}"
    ticket = verify(SECRET, grant["ticket"])
    assert ticket.role is TicketRole.CONTROLLER and ticket.session == grant["session"]
    missing = await operator.post(f"/rmm/devices/{web.device_id}/remote/shell/approved/999999")
    assert missing.status_code == 404 and "Traceback" not in missing.text
