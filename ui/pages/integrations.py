"""The integrations overview: one card per entry of :data:`ui.integrations.CARDS`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.core.deps import SessionDep
from ui.integrations import CARDS
from ui.page import PageDep, render, route_exists

router = APIRouter(include_in_schema=False)


@router.get("/integrations")
async def integrations(page: PageDep, session: SessionDep) -> HTMLResponse:
    """Every integration with its connection status in this organisation."""
    cards = [(card, await card.status(session, page.org.id), route_exists(page.request, card.href)) for card in CARDS]
    return render(page, "integrations/index.html", cards=cards)
