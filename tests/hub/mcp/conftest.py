"""MCP test helpers: the SDK's client against a live hub, with a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from hub.core.settings import Settings
from hub.main import create_app
from tests.conftest import LiveServer, free_port, make_settings
from tests.waiting import ThreadedServer


@asynccontextmanager
async def mcp_session(
    live: LiveServer, token: str, *, message_handler: Callable[[Any], Any] | None = None, name: str = "pytest-client"
) -> AsyncIterator[ClientSession]:
    """An initialized MCP session to the live hub's ``/mcp`` as the token's user."""
    import mcp_types as types

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(60))
    async with http, streamable_http_client(f"{live.url}/mcp", http_client=http) as streams:
        read, write = streams[0], streams[1]
        kwargs: dict[str, Any] = {"client_info": types.Implementation(name=name, version="1.0")}
        if message_handler is not None:
            kwargs["message_handler"] = message_handler
        async with ClientSession(read, write, **kwargs) as session:
            await session.initialize()
            yield session


@pytest.fixture
def live_answering_at_once(settings: Settings) -> Iterator[LiveServer]:
    """A live hub whose MCP calls never wait for an approval's decision (``mcp_approval_wait_seconds=0``)."""
    port = free_port()
    live_settings = make_settings(
        settings.database_url, port=port, public_url=f"http://127.0.0.1:{port}", mcp_approval_wait_seconds=0
    )
    application = create_app(live_settings)
    server = ThreadedServer(application, port=port, name="live-hub-mcp", ws="websockets-sansio")
    server.start()
    yield LiveServer(f"http://127.0.0.1:{port}", application, live_settings)
    server.stop()
