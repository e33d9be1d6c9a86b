"""The Server-Sent Events stream, driven at the ASGI level (httpx's ASGI transport buffers whole bodies)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from hub.core.context import HubContext
from hub.core.events import Event, InProcessBus
from tests.conftest import Tenancy, TestUser
from tests.ui.conftest import register_ui_tools, ui_login
from ui.live import LiveStreams, event_stream


@dataclass
class Stream:
    """One open request to ``/ui/events``; ``disconnect()`` plays the browser going away."""

    task: asyncio.Task[None]
    chunks: asyncio.Queue[bytes]
    gone: asyncio.Event
    status: list[int] = field(default_factory=list)

    async def next_message(self) -> str:
        while True:
            chunk = (await asyncio.wait_for(self.chunks.get(), timeout=5)).decode()
            if chunk and not chunk.startswith(":"):
                return chunk

    def disconnect(self) -> None:
        self.gone.set()


def open_stream(app: FastAPI, session_cookie: str) -> Stream:
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    gone = asyncio.Event()
    sent_request = False
    stream = Stream(task=None, chunks=chunks, gone=gone)  # type: ignore[arg-type]

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            stream.status.append(message["status"])
        elif message.get("body"):
            chunks.put_nowait(message["body"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/ui/events",
        "raw_path": b"/ui/events",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"hub.test"),
            (b"accept", b"text/event-stream"),
            (b"cookie", f"rmmhub_session={session_cookie}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("hub.test", 80),
    }
    stream.task = asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]
    return stream


async def _signed_in_cookie(anon: httpx.AsyncClient, user: TestUser) -> str:
    await ui_login(anon, user.username, user.password)
    return anon.cookies["rmmhub_session"]


async def test_stream_sends_org_events_and_ends_when_the_client_leaves(
    app: FastAPI,
    hub: HubContext,
    anon: httpx.AsyncClient,
    tenancy: Tenancy,
    client_for: Callable[[TestUser], httpx.AsyncClient],
) -> None:
    register_ui_tools(hub.registry)
    streams: LiveStreams = hub.components.get(LiveStreams)
    stream = open_stream(app, await _signed_in_cookie(anon, tenancy.approver))
    assert "event: ready" in await stream.next_message()
    assert stream.status == [200]
    assert streams.open == 1

    await hub.bus.publish(Event(topic="approval.requested", org_id=tenancy.org_id + 1000, data={"approval_id": 99}))
    invoked = await client_for(tenancy.operator).post(
        "/api/v1/tools/uitest:restart-service/invoke", json={"args": {"device": "pc-1"}, "reason": "hung spooler"}
    )
    assert invoked.status_code == 202
    message = await stream.next_message()
    assert message.startswith("event: approval\n")
    assert f'"approval_id":{invoked.json()["approval_id"]}' in message
    assert '"topic":"approval.requested"' in message  # the other organisation's event was filtered out

    stream.disconnect()
    await asyncio.wait_for(stream.task, timeout=5)
    assert streams.open == 0


async def test_stream_ends_on_shutdown_and_needs_a_session(
    app: FastAPI, hub: HubContext, anon: httpx.AsyncClient, tenancy: Tenancy
) -> None:
    stream = open_stream(app, await _signed_in_cookie(anon, tenancy.viewer))
    assert "event: ready" in await stream.next_message()
    hub.components.get(LiveStreams).close()
    await asyncio.wait_for(stream.task, timeout=5)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as other:
        anonymous = await other.get("/ui/events", headers={"accept": "text/event-stream"})
    assert anonymous.status_code == 401


async def test_stream_ends_by_itself_after_its_lifetime() -> None:
    bus = InProcessBus()
    streams = LiveStreams()
    messages = [m async for m in event_stream(bus, streams, org_id=1, max_seconds=0.2)]
    assert messages[0].startswith("retry: ")
    assert "event: ready" in messages[0]
    assert streams.open == 0
