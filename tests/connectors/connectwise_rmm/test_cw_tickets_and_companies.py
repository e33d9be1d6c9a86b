"""Tickets (§3.8), companies and sites (§3.1)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.errors import NotFoundError, ProtocolError, ValidationError
from connectors.connectwise_rmm.client.schemas import (
    IdRef,
    NoteVisibility,
    TicketCreate,
    TicketNoteCreate,
    TicketSortField,
)

TICKETS = "/api/platform/v2/service/ticketing/tickets"
TICKET = {
    "id": "t-1",
    "number": "1001",
    "summary": "Printer offline",
    "description": "It stopped printing. " * 200,
    "company": {"id": "c1"},
    "site": {"id": "s1"},
    "status": {"id": "st1", "name": "New"},
    "priority": {"id": "p3", "name": "P3"},
    "serviceBoard": {"id": "b1", "name": "Help Desk"},
    "source": {"id": "src", "name": "Email"},
    "assets": [{"id": "e1"}],
    "createdAt": "2025-01-01T00:00:00Z",
    "version": 1,
}


async def test_list_tickets_sends_filters_and_trims(client: ConnectWiseClient, router: respx.Router) -> None:
    route = router.get(TICKETS).mock(return_value=httpx.Response(200, json={"tickets": [TICKET], "totalCount": 1}))

    tickets = await client.list_tickets(
        company_ids=["c1", "c2"],
        exclude_status_ids=["closed1", "closed2"],
        sort_by=TicketSortField.UPDATED_AT,
        filters={"priorityNames": "P1"},
        max_items=5,
    )

    params = route.calls.last.request.url.params
    assert dict(params) == {
        "sortBy": "updatedAt",
        "sortDir": "desc",
        "companyIds": "c1,c2",
        "statusIds": "[notIn],closed1,closed2",
        "priorityNames": "P1",
        "pageSize": "5",
        "pageNum": "1",
    }
    view = tickets[0].summary_view(description_chars=100)
    assert (view.number, view.status, view.board, view.asset_ids) == ("1001", "New", "Help Desk", ["e1"])
    assert view.description is not None and len(view.description) < 150


async def test_list_tickets_rejects_contradictory_status_filters(client: ConnectWiseClient) -> None:
    with pytest.raises(ValueError, match="cannot be combined"):
        await client.list_tickets(status_ids=["a"], exclude_status_ids=["b"])


async def test_get_ticket_and_not_found(client: ConnectWiseClient, router: respx.Router) -> None:
    router.get(f"{TICKETS}/t-1").mock(return_value=httpx.Response(200, json=TICKET))
    router.get(f"{TICKETS}/nope").mock(
        return_value=httpx.Response(404, json=[{"code": "NOT_FOUND", "message": "ticket not found"}])
    )

    ticket = await client.get_ticket("t-1")
    assert ticket.service_board is not None and ticket.service_board.name == "Help Desk"

    with pytest.raises(NotFoundError) as caught:
        await client.get_ticket("nope")
    assert (caught.value.message, caught.value.code) == ("ticket not found", "NOT_FOUND")


async def test_create_ticket_body_attaches_the_device(client: ConnectWiseClient, router: respx.Router) -> None:
    route = router.post(TICKETS).mock(return_value=httpx.Response(201, json=TICKET))

    created = await client.create_ticket(
        TicketCreate(
            summary="Printer offline",
            description="It stopped printing.",
            service_board=IdRef(id="b1"),
            source=IdRef(id="src"),
            company=IdRef(id="c1"),
            site=IdRef(id="s1"),
            assets=[IdRef(id="e1")],
        )
    )

    assert json.loads(route.calls.last.request.content) == {
        "summary": "Printer offline",
        "description": "It stopped printing.",
        "serviceBoard": {"id": "b1"},
        "source": {"id": "src"},
        "company": {"id": "c1"},
        "site": {"id": "s1"},
        "assets": [{"id": "e1"}],
    }
    assert created.id == "t-1"


async def test_add_ticket_note_posts_detail_and_visibility_to_the_v1_notes_path(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    note = {"id": "n-1", "ticketId": "t-1", "detail": "Cleaned the disk.", "visibility": 2, "createdBy": "api"}
    route = router.post("/api/platform/v1/service/ticketing/tickets/t-1/notes").mock(
        return_value=httpx.Response(201, json=note)
    )

    created = await client.add_ticket_note("t-1", TicketNoteCreate(detail="Cleaned the disk."))

    assert json.loads(route.calls.last.request.content) == {"detail": "Cleaned the disk.", "visibility": 2}
    assert (created.id, created.ticket_id, created.visibility) == ("n-1", "t-1", 2)
    await client.add_ticket_note("t-1", TicketNoteCreate(detail="visible", visibility=NoteVisibility.ALL))
    assert json.loads(route.calls.last.request.content)["visibility"] == 1
    assert route.call_count == 2


async def test_add_ticket_note_to_a_missing_ticket_is_not_found(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    router.post("/api/platform/v1/service/ticketing/tickets/gone/notes").mock(
        return_value=httpx.Response(404, json={"errors": [{"code": "NOT_FOUND", "message": "ticket not found"}]})
    )
    with pytest.raises(NotFoundError):
        await client.add_ticket_note("gone", TicketNoteCreate(detail="x"))


async def test_create_ticket_upstream_validation(client: ConnectWiseClient, router: respx.Router) -> None:
    router.post(TICKETS).mock(
        return_value=httpx.Response(400, json=[{"code": "INVALID_BOARD", "message": "serviceBoard not found"}])
    )

    with pytest.raises(ValidationError, match="serviceBoard not found"):
        await client.create_ticket(
            TicketCreate(summary="s", description="d", service_board=IdRef(id="x"), source=IdRef(id="y"))
        )


async def test_companies_and_company(client: ConnectWiseClient, router: respx.Router) -> None:
    company = {
        "id": "c1",
        "name": "Acme Pty Ltd",
        "friendlyName": "Acme",
        "activityStatus": {"name": "Active", "activeFlag": True},
        "primarySite": {"id": "s1", "name": "Acme HQ", "timeZone": "Australia/Sydney"},
        "primaryContact": {
            "firstName": "Jo",
            "lastName": "Bloggs",
            "primaryEmail": {"emailAddress": "jo@acme.example"},
        },
    }
    router.get("/api/platform/v1/company/companies").mock(return_value=httpx.Response(200, json=[company]))
    router.get("/api/platform/v1/company/companies/c1").mock(return_value=httpx.Response(200, json=company))

    listed = await client.list_companies()
    one = await client.get_company("c1")

    assert listed[0].summary().model_dump(exclude_none=True) == {
        "id": "c1",
        "name": "Acme Pty Ltd",
        "friendly_name": "Acme",
        "active": True,
        "primary_site_id": "s1",
        "primary_site_name": "Acme HQ",
        "primary_contact": "Jo Bloggs",
        "primary_contact_email": "jo@acme.example",
    }
    assert one.id == "c1"


async def test_sites_per_company_and_partner_wide(client: ConnectWiseClient, router: respx.Router) -> None:
    site = {"id": "s1", "name": "HQ", "company": {"id": "c1", "name": "Acme"}, "activeFlag": True}
    per_company = router.get("/api/platform/v1/company/companies/c1/sites").mock(
        return_value=httpx.Response(200, json=[site])
    )
    partner = router.get("/api/platform/v1/company/sites").mock(return_value=httpx.Response(200, json=[site, site]))

    assert [s.summary().company_id for s in await client.list_sites("c1")] == ["c1"]
    assert len(await client.list_sites()) == 2
    assert per_company.call_count == partner.call_count == 1


async def test_a_non_json_success_is_a_protocol_error(client: ConnectWiseClient, router: respx.Router) -> None:
    router.get("/api/platform/v1/company/companies").mock(
        return_value=httpx.Response(200, text="<html>login</html>", headers={"Content-Type": "text/html"})
    )

    with pytest.raises(ProtocolError, match="expected JSON"):
        await client.list_companies()
