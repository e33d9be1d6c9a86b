"""A stop request is never lost, even when it lands as a loop's wake-up event fires (the quick-support Ctrl+C).

Python 3.11's ``asyncio.wait_for`` drops a cancellation that arrives as the awaited event completes; the
runtime's loops then went on for ever and ``run()`` never returned (a flaky quick-support end test).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent_fakes import offline_runtime

from tests.waiting import eventually


async def test_stop_as_the_loops_wake_up_ends_the_run(tmp_path: Path) -> None:
    runtime = offline_runtime(tmp_path)
    run = asyncio.create_task(runtime.run())
    # The first flush has run and cleared its event: the flush loop now waits for the next wake-up.
    await eventually(lambda: not runtime._flush_wanted.is_set(), message="the flush loop waiting")
    runtime._flush_wanted.set()  # what the push channel's on_connected does ...
    runtime._checkin_now.set()
    runtime.stop()  # ... in the same loop iteration as the signal handler
    async with asyncio.timeout(10):
        assert await run == 0
