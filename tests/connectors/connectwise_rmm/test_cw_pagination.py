"""Both pagination styles (reference §4 "Pagination"), through the client and the helpers."""

from __future__ import annotations

import httpx
import pytest
import respx
from cw_fakes import BASE_URL

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.errors import PaginationLimitError, ProtocolError
from connectors.connectwise_rmm.client.pagination import (
    NumberedPage,
    Page,
    iter_link_pages,
    iter_numbered_pages,
    next_link,
)

COMPANIES = "/api/platform/v1/company/companies"
TICKETS = "/api/platform/v2/service/ticketing/tickets"


def _company(n: int) -> dict[str, object]:
    return {"id": f"c{n}", "name": f"Company {n}"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<https://h/x?cursor=500&limit=500>; rel="next"', "https://h/x?cursor=500&limit=500"),
        ("</x?cursor=2>; rel=next", "/x?cursor=2"),
        ('<https://h/p1>; rel="prev", <https://h/p3>; rel="next"', "https://h/p3"),
        ('<https://h/p1>; rel="prev"', None),
        (None, None),
    ],
)
def test_next_link_parsing(header: str | None, expected: str | None) -> None:
    assert next_link(header) == expected


async def test_companies_follow_link_headers_across_pages(client: ConnectWiseClient, router: respx.Router) -> None:
    route = router.get(COMPANIES).mock(
        side_effect=[
            httpx.Response(
                200, json=[_company(1), _company(2)], headers={"Link": f'<{BASE_URL}{COMPANIES}?cursor=2>; rel="next"'}
            ),
            httpx.Response(200, json=[_company(3)], headers={"Link": f'<{COMPANIES}?cursor=3>; rel="next"'}),
            httpx.Response(200, json=[_company(4)]),
        ]
    )

    companies = await client.list_companies()

    assert [c.id for c in companies] == ["c1", "c2", "c3", "c4"]
    assert [c.request.url.params.get("cursor") for c in route.calls] == [None, "2", "3"]


async def test_link_pages_keep_the_original_query_the_link_dropped() -> None:
    seen: list[httpx.URL] = []

    async def fetch(url: httpx.URL) -> Page:
        seen.append(url)
        link = {} if len(seen) == 2 else {"Link": '</endpoints?cursor=500&limit=500>; rel="next"'}
        return Page(response=httpx.Response(200, headers=link), data={})

    first = httpx.URL("https://h/endpoints?limit=500&cursor=0&field=os,system")
    pages = [p async for p in iter_link_pages(fetch, first, max_pages=10)]

    assert len(pages) == 2
    assert seen[1].params["cursor"] == "500"
    assert seen[1].params["field"] == "os,system"


async def test_next_cursor_in_the_body_is_followed_without_a_link() -> None:
    seen: list[httpx.URL] = []

    async def fetch(url: httpx.URL) -> Page:
        seen.append(url)
        data = {"nextCursor": 10} if len(seen) == 1 else {"nextCursor": None}
        return Page(response=httpx.Response(200), data=data)

    pages = [p async for p in iter_link_pages(fetch, httpx.URL("https://h/x?cursor=0"), max_pages=5)]

    assert len(pages) == 2
    assert seen[1].params["cursor"] == "10"


async def test_link_pages_are_bounded(client: ConnectWiseClient, router: respx.Router) -> None:
    counter = {"n": 0}

    def endless(request: httpx.Request) -> httpx.Response:
        counter["n"] += 1
        return httpx.Response(200, json=[], headers={"Link": f'<{COMPANIES}?cursor={counter["n"]}>; rel="next"'})

    router.get(COMPANIES).mock(side_effect=endless)
    client.session.max_pages = 5

    with pytest.raises(PaginationLimitError, match="5 pages"):
        await client.list_companies()

    assert counter["n"] == 5


async def test_a_link_back_to_a_visited_page_is_a_protocol_error(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    router.get(COMPANIES).mock(
        return_value=httpx.Response(200, json=[], headers={"Link": f'<{COMPANIES}>; rel="next"'})
    )

    with pytest.raises(ProtocolError, match="pagination loop"):
        await client.list_companies()


async def test_a_link_to_another_host_never_gets_the_token(client: ConnectWiseClient, router: respx.Router) -> None:
    router.get(COMPANIES).mock(
        return_value=httpx.Response(200, json=[], headers={"Link": '<https://evil.example/steal>; rel="next"'})
    )

    with pytest.raises(ProtocolError, match="refusing to send credentials"):
        await client.list_companies()


async def test_tickets_page_by_number_until_total_count(client: ConnectWiseClient, router: respx.Router) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        num = int(request.url.params["pageNum"])
        items = {1: ["a", "b"], 2: ["c", "d"], 3: ["e"]}[num]
        return httpx.Response(200, json={"tickets": [{"id": i} for i in items], "totalCount": 5})

    route = router.get(TICKETS).mock(side_effect=page)

    tickets = await client.list_tickets(page_size=2, max_items=None)

    assert [t.id for t in tickets] == ["a", "b", "c", "d", "e"]
    params = [c.request.url.params for c in route.calls]
    assert [(p["pageNum"], p["pageSize"]) for p in params] == [("1", "2"), ("2", "2"), ("3", "2")]
    assert all(p["sortBy"] == "createdAt" and p["sortDir"] == "desc" for p in params)


async def test_numbered_pages_stop_on_total_from_the_first_page() -> None:
    calls: list[int] = []

    async def fetch(page_num: int, size: int) -> NumberedPage[int]:
        calls.append(page_num)
        # Full pages forever, but only the first page's totalCount (4) counts; later ones say 0.
        return NumberedPage(items=[page_num] * size, total_count=4 if page_num == 1 else 0)

    pages = [items async for items in iter_numbered_pages(fetch, page_size=2, max_pages=10)]

    assert calls == [1, 2]
    assert len(pages) == 2


async def test_numbered_pages_are_bounded() -> None:
    async def fetch(page_num: int, size: int) -> NumberedPage[int]:
        return NumberedPage(items=[1] * size, total_count=None)

    with pytest.raises(PaginationLimitError):
        _ = [items async for items in iter_numbered_pages(fetch, page_size=1, max_pages=3)]
