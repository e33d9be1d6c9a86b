"""Waiting in tests: on the condition a pause stands for, with a bounded deadline, never on time alone.

``eventually`` polls a check (plain or async) until it returns something truthy and returns it; it fails
with the condition's name when the deadline passes. ``ThreadedServer`` runs a uvicorn app in a thread and,
when stopped, waits until the server and its lifespan have really ended, so nothing a test started is still
writing when the next test's set-up empties the database. Both it and the agent tests' fake hub serve with
``SettledServer``, whose shutdown shuts every connection it accepted.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import uvicorn

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T] | T], *, within: float = 20, every: float = 0.05, message: str = "condition"
) -> T:
    """Await ``check()`` until it returns something truthy (returned), or fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {message}")
        await asyncio.sleep(every)


def wait_until(check: Callable[[], T], *, within: float = 20, every: float = 0.05, message: str = "condition") -> T:
    """The blocking form of :func:`eventually`, for threads and synchronous fixtures."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {message}")
        time.sleep(every)


_ACCEPT_ITERATIONS = 3  # accept -> transport made -> connection_made: two loop iterations, and one to spare


class SettledServer(uvicorn.Server):
    """uvicorn whose shutdown shuts every connection it accepted.

    uvicorn's shutdown closes the listeners and then, in the same step, shuts the connections it knows. A
    connection asyncio accepted in the iteration before joins that set only two iterations later, escapes, and
    is served for ever (an agent that reconnects its push channel the instant the hub sends 1012 lands there:
    the hub-restart test hung once in eight full runs). Closing the listeners and letting those iterations
    pass first leaves uvicorn every connection to shut.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for listener in self.servers:
            listener.close()
        for _ in range(_ACCEPT_ITERATIONS):
            await asyncio.sleep(0)
        await super().shutdown(sockets)


class ThreadedServer:
    """A uvicorn server in a daemon thread: ``start()`` returns once it accepts, ``stop()`` once it has ended.

    Shutdown is bounded: open connections get ``graceful`` seconds, then uvicorn closes them, and ``stop``
    raises if the thread is still alive after that, instead of letting a half-stopped server run on into the
    next test.
    """

    def __init__(self, app: object, *, port: int, name: str, graceful: float = 3, **config: object) -> None:
        self.config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=graceful, **config
        )  # type: ignore[arg-type]
        self.server = SettledServer(self.config)
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)
        self.name = name

    def start(self, within: float = 20) -> None:
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), within=within, message=f"{self.name} up")
        if not self.server.started:
            raise RuntimeError(f"{self.name} did not start")

    def stop(self, within: float = 20) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=within)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout=5)
        if self.thread.is_alive():
            raise RuntimeError(f"{self.name} did not stop within {within} s")
