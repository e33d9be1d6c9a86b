"""Live updates: the Server-Sent Events stream and the sidebar's pending-approvals badge."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.core.deps import HubDep, PrincipalDep
from ui.live import EventStreamResponse, LiveStreams, event_stream
from ui.page import PageDep, render

router = APIRouter(include_in_schema=False)


@router.get("/ui/events")
async def events(principal: PrincipalDep, hub: HubDep) -> EventStreamResponse:
    """Approval events of the user's organisation, as ``text/event-stream``."""
    return EventStreamResponse(event_stream(hub.bus, hub.components.get(LiveStreams), principal.user.org_id))


@router.get("/ui/pending-count")
async def pending_badge(page: PageDep) -> HTMLResponse:
    """The sidebar badge with the number of pending approvals."""
    return render(page, "partials/pending_badge.html", pending=page.pending)
