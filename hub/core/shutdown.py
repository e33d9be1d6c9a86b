"""Shutdown steps that run on their own: one failing step (a lost lock, a dead bus) never keeps
the next ones (flushing queued writes, closing sockets, disposing the database) from running."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def run_steps(*steps: tuple[str, Callable[[], Awaitable[object]]]) -> list[str]:
    """Run every step in order; returns the names of those that failed (each is logged with its traceback)."""
    failed: list[str] = []
    for name, step in steps:
        try:
            await step()
        except Exception:  # shutdown goes on whatever one step raised; it is logged with its traceback
            log.exception("shutdown step %r failed; continuing with the next ones", name)
            failed.append(name)
    return failed
