"""MCP test helpers: the SDK's client against a live hub, with a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import LiveServer


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
