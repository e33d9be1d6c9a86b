"""The event loop a relay node runs on: uvloop where it is installed (as uvicorn runs the hub), else asyncio.

uvloop cuts the relay's per-message cost by about a quarter (p50 round trip 0.10 -> 0.07 ms in
``rmmhub bench relay`` on the two-core machine), which is what a keystroke echo pays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Literal, TypeVar

T = TypeVar("T")
LoopName = Literal["auto", "uvloop", "asyncio"]


def loop_in_use(choice: LoopName = "auto") -> Literal["uvloop", "asyncio"]:
    """Which loop ``run(..., choice)`` uses here (``uvloop`` asked for but missing raises ImportError)."""
    if choice == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if choice == "uvloop":
            raise
        return "asyncio"
    return "uvloop"


def run(main: Coroutine[object, object, T], choice: LoopName = "auto") -> T:
    """Run ``main`` to completion on the chosen loop."""
    if loop_in_use(choice) == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
