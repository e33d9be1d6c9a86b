"""Live page updates: a Server-Sent Events stream of bus events for the signed-in user's organisation.

The browser side is ``static/live.js``: one ``EventSource`` per page that turns each event into an
htmx trigger on ``<body>`` (``approvals-changed``, ``command-changed``), so any element can refresh
itself with ``hx-trigger="approvals-changed from:body"``.

A stream ends when the client disconnects (watched concurrently, whatever the ASGI server), when
the hub shuts down (:meth:`LiveStreams.close`), or after :data:`MAX_STREAM_SECONDS` (the browser
reconnects on its own), so no stream can hold a shutdown up for long.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from hub.core.events import Event, EventBus
from native_rmm.events import COMMAND_UPDATED

HEARTBEAT_SECONDS = 10.0
#: A server shutdown waits for open streams; this bounds the wait (the browser reconnects and resyncs).
MAX_STREAM_SECONDS = 25.0
RETRY_MILLISECONDS = 2000
#: Bus topic prefix -> SSE event name sent to the browser.
TOPICS: dict[str, str] = {"approval.": "approval", COMMAND_UPDATED.name: "command", "assistant.": "assistant"}


class LiveStreams:
    """The open streams of this process; :meth:`close` ends them all (hub shutdown)."""

    def __init__(self) -> None:
        self.closing = asyncio.Event()
        self.open = 0

    def close(self) -> None:
        """Ask every stream to finish now."""
        self.closing.set()


def sse(event: str, data: dict[str, Any]) -> str:
    """One Server-Sent Events message."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _event_name(topic: str) -> str | None:
    for prefix, name in TOPICS.items():
        if topic.startswith(prefix):
            return name
    return None


async def _next(events: AsyncIterator[Event]) -> Event:
    return await anext(events)


async def event_stream(
    bus: EventBus, streams: LiveStreams, org_id: int, *, max_seconds: float = MAX_STREAM_SECONDS
) -> AsyncIterator[str]:
    """SSE messages for ``org_id``: ``ready`` once subscribed, then one message per matching bus event."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    streams.open += 1
    try:
        async with bus.subscribe(*TOPICS) as events:
            yield f"retry: {RETRY_MILLISECONDS}\n" + sse("ready", {"org_id": org_id})
            # One long-lived "next event" task: cancelling an ``anext`` would close the subscription.
            upcoming = asyncio.ensure_future(_next(events))
            closing = asyncio.ensure_future(streams.closing.wait())
            try:
                while True:
                    timeout = min(HEARTBEAT_SECONDS, deadline - loop.time())
                    if timeout <= 0:
                        return
                    done, _ = await asyncio.wait(
                        {upcoming, closing}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                    )
                    if closing in done:
                        return
                    if upcoming not in done:
                        yield ": keep-alive\n\n"
                        continue
                    event = upcoming.result()
                    upcoming = asyncio.ensure_future(_next(events))
                    name = _event_name(event.topic)
                    if name is not None and event.org_id == org_id:
                        yield sse(name, {"topic": event.topic, **event.data})
            finally:
                upcoming.cancel()
                closing.cancel()
                await asyncio.wait({upcoming, closing})
    finally:
        streams.open -= 1


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` response that always watches for the client going away.

    Starlette only listens for ``http.disconnect`` on older ASGI spec versions; an idle stream
    would otherwise notice a gone client only at its next write.
    """

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[str]) -> None:
        super().__init__(content, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:

            async def run_then_cancel(func: Any) -> None:
                await func()
                group.cancel_scope.cancel()

            group.start_soon(run_then_cancel, partial(self.stream_response, send))
            await run_then_cancel(partial(self.listen_for_disconnect, receive))
