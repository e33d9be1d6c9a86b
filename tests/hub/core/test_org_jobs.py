"""A job over every organisation: one unit of work each, a failure rolls back and logs only its own."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import SYSTEM_ACTOR, AuditEntry, AuditEvent
from hub.core.db import Database
from hub.core.errors import ToolError
from hub.core.models import Organization
from hub.core.org_jobs import for_each_org

log = logging.getLogger("tests.org_jobs")


async def test_each_org_commits_alone_and_a_failure_is_logged(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    async with db.transaction() as s:
        orgs = [Organization(name=f"Org {i}", slug=f"org-{i}") for i in range(3)]
        s.add_all(orgs)
        await s.flush()
        ids = [o.id for o in orgs]
    failing = ids[1]

    async def run(session: AsyncSession, org_id: int) -> str:
        audit.record(session, event=AuditEvent.POLICY_CHANGED, actor=SYSTEM_ACTOR, org_id=org_id, outcome="ran")
        if org_id == failing:
            raise ToolError("upstream refused")
        return f"done {org_id}"

    with caplog.at_level(logging.ERROR, logger=log.name):
        results = await for_each_org(
            db,
            select(Organization.id).where(Organization.id.in_(ids)),
            run,
            errors=(ToolError,),
            log=log,
            failure="job failed for org %s",
        )

    assert results == {ids[0]: f"done {ids[0]}", ids[2]: f"done {ids[2]}"}
    async with db.sessionmaker() as s:
        ran = set((await s.execute(select(AuditEntry.org_id).where(AuditEntry.outcome == "ran"))).scalars())
    assert ran == {ids[0], ids[2]}  # the failing organisation's entry was rolled back
    failures = [r for r in caplog.records if r.name == log.name]
    assert [r.getMessage() for r in failures] == [f"job failed for org {failing}"]
    assert failures[0].exc_info is not None and "upstream refused" in str(failures[0].exc_info[1])


async def test_an_unexpected_error_is_not_swallowed(db: Database) -> None:
    async with db.transaction() as s:
        org = Organization(name="Org", slug="org-x")
        s.add(org)
        await s.flush()
        org_id = org.id

    async def run(session: AsyncSession, org_id: int) -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await for_each_org(
            db,
            select(Organization.id).where(Organization.id == org_id),
            run,
            errors=(ToolError,),
            log=log,
            failure="%s",
        )
