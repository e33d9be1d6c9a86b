"""Read service of the audit log for pages (and the assistant): one page of entries, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.audit import AuditEntry


async def entries(
    session: AsyncSession, *, org_id: int, event: str = "", tool: str = "", before_id: int | None = None, limit: int
) -> Sequence[AuditEntry]:
    """The organisation's entries, newest first: of one ``event``, whose tool id contains ``tool``, older
    than ``before_id`` (each filter only when given)."""
    stmt = select(AuditEntry).where(AuditEntry.org_id == org_id)
    if event:
        stmt = stmt.where(AuditEntry.event == event)
    if tool.strip():
        stmt = stmt.where(AuditEntry.tool_id.contains(tool.strip(), autoescape=True))
    if before_id:
        stmt = stmt.where(AuditEntry.id < before_id)
    return (await session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit))).scalars().all()
