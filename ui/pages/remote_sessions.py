"""Remote sessions: ``/remote-sessions`` (active and recent), one session's page (trail, replay), actions.

Connect invokes ``rmm-join-remote-session`` and End ``rmm-end-remote-session`` through the gate
(End is for admins); the recording is served only to users of the session's organisation.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from hub.core.bounds import Id
from hub.core.deps import SessionDep
from hub.core.errors import NotFound
from native_rmm.remote import queries
from policies.deps import GateDep
from policies.outcome import InvocationStatus
from ui.page import PageDep, render
from ui.pages.rmm_actions import invoke, outcome_html

router = APIRouter(include_in_schema=False)
LIST_LIMIT = 100


@router.get("/remote-sessions")
async def sessions_page(page: PageDep, session: SessionDep) -> HTMLResponse:
    """Every active and recent session of the organisation."""
    rows = await queries.list_sessions(session, org_id=page.org.id, limit=LIST_LIMIT)
    return render(page, "rmm/remote_sessions.html", sessions=rows)


@router.get("/remote-sessions/{session_id}")
async def session_page(session_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """One session: summary, event trail and (for shells) the recording's replay."""
    row = await queries.get_session(session, org_id=page.org.id, session_id=session_id)
    events = await queries.trail(session, session_id=row.session.id)
    return render(page, "rmm/remote_session.html", row=row, events=events)


@router.get("/remote-sessions/{session_id}/recording")
async def recording(session_id: Id, page: PageDep, session: SessionDep) -> FileResponse:
    """The shell recording (asciicast v2)."""
    row = await queries.get_session(session, org_id=page.org.id, session_id=session_id)
    name = row.session.recording
    path = page.hub.settings.remote_recordings_dir / name if name else None
    if path is None or not path.is_file():
        raise NotFound(f"remote session #{session_id} has no recording (none was made, or retention removed it)")
    return FileResponse(
        path, media_type="application/x-asciicast", filename=f"remote-session-{session_id}.cast",
        headers={"Cache-Control": "no-store"},
    )  # fmt: skip


@router.post("/remote-sessions/{session_id}/connect")
async def connect(session_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """Join the live session: the answer links the Remote Connection window with a fresh ticket."""
    row = await queries.get_session(session, org_id=page.org.id, session_id=session_id)
    outcome = await invoke(page, session, gate, "rmm-join-remote-session", {"session": row.session.sid})
    return render(
        page, "rmm/_remote_opened.html", outcome=outcome, action=f"Join session #{session_id}", S=InvocationStatus,
        device_id=row.device_id, kind=row.session.kind,
    )  # fmt: skip


@router.post("/remote-sessions/{session_id}/end")
async def end(session_id: Id, page: PageDep, session: SessionDep, gate: GateDep) -> HTMLResponse:
    """End the session for everyone connected (``rmm-end-remote-session``, admins)."""
    row = await queries.get_session(session, org_id=page.org.id, session_id=session_id)
    outcome = await invoke(page, session, gate, "rmm-end-remote-session", {"session": row.session.sid})
    return outcome_html(page, outcome, action=f"End session #{session_id}")
