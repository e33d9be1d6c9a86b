"""The two pagination styles of the ConnectWise partner API (reference §4), both bounded.

* **Cursor + Link** (v2 device family; followed "just in case" on companies/sites): ``limit`` and an
  integer ``cursor``; the next page's URL is in ``Link: <...>; rel="next"``, absolute or relative.
  No ``Link`` means last page. When there is no header, a ``nextCursor`` in the body is used (one
  public client reads it). The Link URL may drop parameters of the first request (the documented
  example keeps only ``cursor`` and ``limit``), so the original query is kept and the Link's values
  win where both are present.
* **Page number** (tickets): ``pageSize`` + 1-based ``pageNum`` sent together, ``totalCount`` in the
  body. A page past the end answers an empty list *and* ``totalCount: 0``, so the page count is taken
  from the first page.

Both stop at ``max_pages`` and raise :class:`PaginationLimitError` rather than loop on a misbehaving
upstream; the Link style also refuses to revisit a URL.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx

from connectors.connectwise_rmm.client.errors import PaginationLimitError, ProtocolError

T = TypeVar("T")

DEFAULT_MAX_PAGES = 200

_LINK_NEXT = re.compile(r'<([^>]+)>\s*;[^,]*?\brel\s*=\s*"?next"?', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Page:
    """One fetched page: the response (for headers) and its decoded JSON body (``None`` = no page)."""

    response: httpx.Response
    data: object


def next_link(link_header: str | None) -> str | None:
    """Return the ``rel="next"`` target of a ``Link`` header, or ``None``."""
    if not link_header:
        return None
    match = _LINK_NEXT.search(link_header)
    return match.group(1).strip() if match else None


def next_page_url(current: httpx.URL, page: Page) -> httpx.URL | None:
    """Work out the URL of the page after ``page``.

    Args:
        current: The URL ``page`` was fetched from.
        page: The fetched page.

    Returns:
        The next page's URL (current query merged with the Link's), or ``None`` on the last page.
    """
    target = next_link(page.response.headers.get("Link"))
    if target is not None:
        linked = current.join(target)
        merged = dict(current.params.multi_items())
        merged.update(dict(linked.params.multi_items()))
        return linked.copy_with(params=merged)
    data = page.data
    if isinstance(data, dict):
        cursor = data.get("nextCursor")
        if cursor is not None and str(cursor).strip() and not isinstance(cursor, bool):
            return current.copy_merge_params({"cursor": str(cursor)})
    return None


async def iter_link_pages(
    fetch: Callable[[httpx.URL], Awaitable[Page | None]],
    first_url: httpx.URL,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Page]:
    """Yield pages, following ``Link: rel="next"`` (or ``nextCursor``) until the last page.

    Args:
        fetch: Fetches one URL; returns ``None`` when upstream signals "no (more) results" (e.g. 404).
        first_url: The first page's URL with its query.
        max_pages: Upper bound on pages fetched.

    Raises:
        PaginationLimitError: Another page was announced after ``max_pages`` pages.
        ProtocolError: Upstream pointed back at a page already fetched.
    """
    url = first_url
    seen: set[str] = set()
    for fetched in range(1, max_pages + 1):
        seen.add(str(url))
        page = await fetch(url)
        if page is None:
            return
        yield page
        following = next_page_url(url, page)
        if following is None:
            return
        if str(following) in seen:
            raise ProtocolError(f"pagination loop: ConnectWise pointed back at {following.path}?{following.query!r}")
        if fetched == max_pages:
            raise PaginationLimitError(
                f"stopped after {max_pages} pages of {first_url.path}; raise max_pages or narrow the query"
            )
        url = following


@dataclass(frozen=True, slots=True)
class NumberedPage(Generic[T]):
    """One page of a ``pageSize``/``pageNum`` listing."""

    items: Sequence[T]
    total_count: int | None


async def iter_numbered_pages(
    fetch: Callable[[int, int], Awaitable[NumberedPage[T]]],
    *,
    page_size: int,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Sequence[T]]:
    """Yield the items of each page of a ``pageSize``/``pageNum`` listing.

    Args:
        fetch: ``fetch(page_num, page_size)`` for a 1-based page number.
        page_size: Items per page.
        max_pages: Upper bound on pages fetched.

    Raises:
        PaginationLimitError: The first page's ``totalCount`` needs more than ``max_pages`` pages and the
            caller kept iterating past the bound.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    total_pages: int | None = None
    page_num = 1
    while True:
        if page_num > max_pages:
            raise PaginationLimitError(f"stopped after {max_pages} pages; raise max_pages or narrow the query")
        page = await fetch(page_num, page_size)
        if page_num == 1 and page.total_count is not None:
            total_pages = math.ceil(page.total_count / page_size)
        if not page.items:
            return
        yield page.items
        if len(page.items) < page_size:
            return
        if total_pages is not None and page_num >= total_pages:
            return
        page_num += 1
