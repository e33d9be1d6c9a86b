"""Shutdown steps run on their own: a failing step is logged and the next ones still run."""

from __future__ import annotations

import logging

import pytest

from hub.core.shutdown import run_steps


async def test_a_failing_step_does_not_stop_the_next(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    async def lost_lock() -> None:
        raise ConnectionResetError("the lock session is gone")

    async def flush() -> None:
        ran.append("flush")

    with caplog.at_level(logging.ERROR, logger="hub.core.shutdown"):
        failed = await run_steps(("scheduler", lost_lock), ("ingest writer flush", flush))
    assert failed == ["scheduler"]
    assert ran == ["flush"]
    assert "shutdown step 'scheduler' failed" in caplog.text and "the lock session is gone" in caplog.text
