"""The Tickets tab and ticket page (served HTML): list, filters, create (from the tab, a device, an alert),
comment and status change, all through the gate."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx

from hub.core.db import Database
from hub.core.tenancy import create_customer, create_site
from tests.conftest import Tenancy, TestUser
from tests.ui.rmm.conftest import Fleet

UiAs = Callable[[TestUser], Awaitable[httpx.AsyncClient]]
TICKET_TOOLS = ("rmm-create-ticket", "rmm-comment-ticket", "rmm-update-ticket")


async def _auto(client_for: Callable[[TestUser], httpx.AsyncClient], tenancy: Tenancy) -> None:
    for tool in TICKET_TOOLS:
        r = await client_for(tenancy.admin).put(f"/api/v1/policies/native_rmm:{tool}", json={"mode": "auto"})
        assert r.status_code == 200, r.text


async def test_tickets_tab_answers_and_lists_with_filters(
    ui_as: UiAs, tenancy: Tenancy, client_for: Callable[[TestUser], httpx.AsyncClient], db: Database, enroll: Fleet
) -> None:
    await _auto(client_for, tenancy)
    async with db.transaction() as session:
        contoso = await create_customer(session, org_id=tenancy.org_id, name="Contoso")
        office = await create_site(session, org_id=tenancy.org_id, customer_id=contoso.id, name="Main office")
    web = await enroll("LON-WEB-01")
    client = await ui_as(tenancy.operator)
    tab = await client.get("/rmm", params={"tab": "tickets"})
    assert tab.status_code == 200 and 'aria-label="Tickets"' in tab.text and "No tickets match" in tab.text

    made = await client.post("/rmm/tickets", data={
        "title": "Printer jammed", "priority": "high", "customer_id": str(contoso.id), "site_id": str(office.id),
        "external_ref": "CW-10234", "assignee": str(tenancy.operator.id),
    })  # fmt: skip
    assert made.status_code == 204 and made.headers["HX-Redirect"].startswith("/rmm/tickets/"), made.text
    printer = int(made.headers["HX-Redirect"].rsplit("/", 1)[1])
    from_device = await client.post("/rmm/tickets", data={"title": "Disk nearly full", "device_id": str(web.device_id)})
    disk = int(from_device.headers["HX-Redirect"].rsplit("/", 1)[1])

    listed = (await client.get("/rmm/tickets")).text
    assert f'data-ticket-id="{printer}"' in listed and f'data-ticket-id="{disk}"' in listed
    assert "Contoso" in listed and "Main office" in listed and "CW-10234" in listed
    by_priority = (await client.get("/rmm/tickets", params={"priority": "high"})).text
    assert f'data-ticket-id="{printer}"' in by_priority and f'data-ticket-id="{disk}"' not in by_priority
    by_customer = (await client.get("/rmm/tickets", params={"customer_id": contoso.id})).text
    assert f'data-ticket-id="{disk}"' not in by_customer
    by_device = (await client.get("/rmm/tickets", params={"device_id": web.device_id})).text
    assert f'data-ticket-id="{disk}"' in by_device and f'data-ticket-id="{printer}"' not in by_device
    by_assignee = (await client.get("/rmm/tickets", params={"assignee": tenancy.operator.id})).text
    assert f'data-ticket-id="{printer}"' in by_assignee and f'data-ticket-id="{disk}"' not in by_assignee
    by_ref = (await client.get("/rmm/tickets", params={"q": "cw-102"})).text
    assert f'data-ticket-id="{printer}"' in by_ref and f'data-ticket-id="{disk}"' not in by_ref
    # A device's ticket belongs to the device's customer by default.
    page = (await client.get(f"/rmm/tickets/{disk}")).text
    assert "LON-WEB-01" in page and "Unassigned" in page

    commented = await client.post(f"/rmm/tickets/{printer}/comment", data={"body": "Replaced the fuser"})
    assert commented.status_code == 303
    moved = await client.post(f"/rmm/tickets/{printer}/status", data={"status": "resolved", "note": "works"})
    assert moved.status_code == 303
    page = (await client.get(f"/rmm/tickets/{printer}")).text
    assert (
        "Replaced the fuser" in page and "status: open → resolved" in page and 'data-ticket-status="resolved"' in page
    )
    assert f'data-ticket-id="{printer}"' not in (await client.get("/rmm/tickets")).text  # active only by default
    assert f'data-ticket-id="{printer}"' in (await client.get("/rmm/tickets", params={"status": "resolved"})).text


async def test_ticket_writes_wait_for_approval_and_say_so(ui_as: UiAs, tenancy: Tenancy) -> None:
    client = await ui_as(tenancy.operator)
    asked = await client.post("/rmm/tickets", data={"title": "Needs approval"})
    assert asked.status_code == 200 and 'data-outcome="pending"' in asked.text
    assert re.search(r"pending approval #\d+", asked.text)


async def test_device_page_and_alert_rows_offer_a_ticket(ui_as: UiAs, tenancy: Tenancy, enroll: Fleet) -> None:
    web = await enroll("LON-WEB-02")
    client = await ui_as(tenancy.operator)
    device = (await client.get(f"/rmm/devices/{web.device_id}")).text
    assert f"/rmm?tab=tickets&amp;new=1&amp;device_id={web.device_id}" in device
    form = (await client.get("/rmm", params={"tab": "tickets", "new": "1", "device_id": web.device_id})).text
    assert f'name="device_id" value="{web.device_id}"' in form and "<details open>" in form
