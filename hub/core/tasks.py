"""Background tasks started and stopped one way: a named task, then cancel-and-await on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

__all__ = ["start_task", "stop_task"]


def start_task(coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
    """Run ``coro`` in the background as a task named ``name`` (keep the returned task to stop it)."""
    return asyncio.create_task(coro, name=name)


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has ended (None, or a task that already ended, is fine).

    Its ``CancelledError`` ends here; any other exception it ended with is raised, as awaiting it would.
    """
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
