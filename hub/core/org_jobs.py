"""Scheduled jobs that visit every organisation with something to do, each in its own unit of work."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.db import Database

Result = TypeVar("Result")


async def for_each_org(
    db: Database,
    org_ids: Select[int],
    run: Callable[[AsyncSession, int], Awaitable[Result]],
    *,
    errors: tuple[type[Exception], ...],
    log: logging.Logger,
    failure: str,
) -> dict[int, Result]:
    """Run ``run`` once for each organisation ``org_ids`` selects, each in its own transaction.

    A failure that is one of ``errors`` rolls back that organisation's work only: it is logged with its
    traceback as ``failure % org_id`` and the other organisations carry on.

    Returns:
        Organisation id -> what ``run`` returned, for the organisations that did not fail.
    """
    async with db.sessionmaker() as session:
        ids = list((await session.execute(org_ids)).scalars())
    results: dict[int, Result] = {}
    for org_id in ids:
        try:
            async with db.transaction() as session:
                results[org_id] = await run(session, org_id)
        except errors:
            log.exception(failure, org_id)
    return results
