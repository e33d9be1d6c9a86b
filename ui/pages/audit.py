"""The audit-log tab of the policy dashboard: newest first, paged by id, with chain verification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from hub.core import audit, audit_log
from hub.core.audit import AuditEvent
from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from ui.page import AdminPageDep, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


class AuditFilters(BaseModel):
    """Query parameters of the audit tab."""

    event: str = Field(default="", max_length=40)
    tool: str = Field(default="", max_length=200)
    before_id: Id | None = None


async def audit_context(session: DbSession, org_id: int, filters: AuditFilters) -> dict[str, Any]:
    """One page of the organisation's audit entries and the link parameters of the next page."""
    rows = await audit_log.entries(
        session,
        org_id=org_id,
        event=filters.event,
        tool=filters.tool,
        before_id=filters.before_id,
        limit=PAGE_SIZE + 1,
    )
    entries = list(rows[:PAGE_SIZE])
    older = (
        {"event": filters.event, "tool": filters.tool, "before_id": entries[-1].id} if len(rows) > PAGE_SIZE else None
    )
    return {"entries": entries, "filters": filters, "events": [e.value for e in AuditEvent], "older": older}


@router.get("/policies/audit/verify")
async def verify(page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """Recompute the tamper-evident chain (admin) and say OK or name the first altered entry."""
    report = await audit.verify_against_witness(session, page.hub.settings)
    return render(page, "policies/_verify.html", report=report)
