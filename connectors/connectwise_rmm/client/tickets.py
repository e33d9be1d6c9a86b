"""Ticket calls (reference §3.8), mixed into :class:`~connectors.connectwise_rmm.client.ConnectWiseClient`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connectors.connectwise_rmm.client.pagination import NumberedPage, iter_numbered_pages
from connectors.connectwise_rmm.client.schemas import (
    SortDirection,
    Ticket,
    TicketCreate,
    TicketList,
    TicketNote,
    TicketNoteCreate,
    TicketSortField,
)
from connectors.connectwise_rmm.client.session import ConnectWiseSession, decode_json, parse_model

TICKETS_PATH = "/api/platform/v2/service/ticketing/tickets"
#: Notes live under the v1 ticketing path (reference §3.8).
NOTES_PATH = "/api/platform/v1/service/ticketing/tickets/{ticket_id}/notes"
MAX_PAGE_SIZE = 100


def _ids(values: Sequence[str]) -> str:
    return ",".join(values)


class TicketMethods:
    """Service tickets."""

    _session: ConnectWiseSession

    async def list_tickets(
        self,
        *,
        company_ids: Sequence[str] = (),
        site_ids: Sequence[str] = (),
        status_ids: Sequence[str] = (),
        exclude_status_ids: Sequence[str] = (),
        number: str | None = None,
        summary: str | None = None,
        filters: Mapping[str, str] | None = None,
        sort_by: TicketSortField = TicketSortField.CREATED_AT,
        sort_dir: SortDirection = SortDirection.DESC,
        page_size: int = 50,
        max_items: int | None = 50,
    ) -> list[Ticket]:
        """Search tickets, newest first by default.

        Paged with ``pageSize`` + 1-based ``pageNum`` (always sent together) and ``totalCount``; the page
        count comes from the first page because a page past the end reports ``totalCount: 0``.

        Args:
            company_ids: Tickets of these companies.
            site_ids: Tickets of these sites.
            status_ids: Only these statuses.
            exclude_status_ids: Not these statuses (the spec's ``[notIn],id1,id2`` form).
            number: Ticket number.
            summary: Summary text filter.
            filters: Any other documented filter (``priorityNames``, ``createdAtFrom``...), passed as is.
            sort_by: Sort field.
            sort_dir: Sort direction.
            page_size: Tickets per request (1-100).
            max_items: Stop after this many tickets; ``None`` reads every page (bounded by ``max_pages``).
        """
        if status_ids and exclude_status_ids:
            raise ValueError("status_ids and exclude_status_ids cannot be combined in one filter")
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        if max_items is not None:
            page_size = max(1, min(page_size, max_items))
        params: dict[str, str | int] = {"sortBy": sort_by.value, "sortDir": sort_dir.value}
        if company_ids:
            params["companyIds"] = _ids(company_ids)
        if site_ids:
            params["siteIds"] = _ids(site_ids)
        if status_ids:
            params["statusIds"] = _ids(status_ids)
        if exclude_status_ids:
            params["statusIds"] = "[notIn]," + _ids(exclude_status_ids)
        if number:
            params["number"] = number
        if summary:
            params["summary"] = summary
        params.update(filters or {})

        async def fetch(page_num: int, size: int) -> NumberedPage[Ticket]:
            data = await self._session.get_json(TICKETS_PATH, params={**params, "pageSize": size, "pageNum": page_num})
            page = parse_model(TicketList, data or {}, what="tickets")
            return NumberedPage(items=page.tickets, total_count=page.total_count)

        tickets: list[Ticket] = []
        async for items in iter_numbered_pages(fetch, page_size=page_size, max_pages=self._session.max_pages):
            tickets.extend(items)
            if max_items is not None and len(tickets) >= max_items:
                return tickets[:max_items]
        return tickets

    async def get_ticket(self, ticket_id: str) -> Ticket:
        """One ticket by id.

        Raises:
            NotFoundError: No such ticket.
        """
        data = await self._session.get_json(f"{TICKETS_PATH}/{ticket_id}")
        return parse_model(Ticket, data, what="ticket")

    async def create_ticket(self, ticket: TicketCreate) -> Ticket:
        """Create a ticket (201 answers the stored ticket). Never replayed after a time-out."""
        response = await self._session.request("POST", TICKETS_PATH, body=ticket.to_wire(), idempotent=False)
        return parse_model(Ticket, decode_json(response), what="created ticket")

    async def add_ticket_note(self, ticket_id: str, note: TicketNoteCreate) -> TicketNote:
        """Add a note to a ticket (201 answers the stored note). Never replayed after a time-out.

        Raises:
            NotFoundError: No such ticket.
        """
        path = NOTES_PATH.format(ticket_id=ticket_id)
        response = await self._session.request("POST", path, body=note.to_wire(), idempotent=False)
        return parse_model(TicketNote, decode_json(response), what="created ticket note")
