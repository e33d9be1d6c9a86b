"""``rmmhub mcp --stdio``: an MCP server on stdin/stdout that proxies to the running hub's ``/mcp``.

Desktop clients that launch a process talk to this one; every request goes to the hub over
streamable HTTP with the API token, so the hub's gate, policies, approvals and audit apply unchanged.
The tool list, calls and approval resources are forwarded; ``list_changed`` from the hub is passed on.
"""

from __future__ import annotations

from typing import Any, cast

import httpx2
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.stdio import stdio_server

from hub import __version__


class StdioProxy:
    """The stdio side: handlers that forward each request to the hub session."""

    def __init__(self, remote: ClientSession) -> None:
        self.remote = remote
        self.connection: Connection | None = None
        self.server: Server[Any] = Server(
            "rmmhub",
            version=__version__,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_templates,
            on_read_resource=self._read_resource,
        )

    def _seen(self, ctx: ServerRequestContext[Any]) -> None:
        self.connection = ctx.session._connection

    async def _list_tools(self, ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
        self._seen(ctx)
        return await self.remote.list_tools()

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        self._seen(ctx)
        wants_progress = bool(ctx.meta and ctx.meta.get("progress_token") is not None)

        async def relay(progress: float, total: float | None, message: str | None) -> None:
            await ctx.session.report_progress(progress, total, message)

        return await self.remote.call_tool(
            params.name, params.arguments or {}, progress_callback=relay if wants_progress else None,
            meta=_without_progress(params.meta),
        )  # fmt: skip

    async def _list_resources(self, ctx: ServerRequestContext[Any], params: Any) -> types.ListResourcesResult:
        return await self.remote.list_resources()

    async def _list_templates(self, ctx: ServerRequestContext[Any], params: Any) -> types.ListResourceTemplatesResult:
        return await self.remote.list_resource_templates()

    async def _read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        return await self.remote.read_resource(params.uri)

    async def on_remote_message(self, message: Any) -> None:
        """Pass the hub's ``tools/list_changed`` on to the desktop client."""
        root = getattr(message, "root", message)
        if isinstance(root, types.ToolListChangedNotification) and self.connection is not None:
            await self.connection.send_tool_list_changed()


def _without_progress(meta: types.RequestParamsMeta | None) -> types.RequestParamsMeta | None:
    """The caller's ``_meta`` minus its progress token (the hub session uses its own)."""
    if not meta:
        return None
    kept = {k: v for k, v in meta.items() if k != "progress_token"}
    return cast(types.RequestParamsMeta, kept) if kept else None


async def serve_stdio(url: str, token: str) -> None:
    """Proxy stdin/stdout to ``<url>/mcp`` as the token's user until stdin closes."""
    proxy: StdioProxy | None = None

    async def forward(message: Any) -> None:
        if proxy is not None:
            await proxy.on_remote_message(message)

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(300))
    async with http, streamable_http_client(url.rstrip("/") + "/mcp", http_client=http) as streams:
        info = types.Implementation(name="rmmhub-stdio", version=__version__)
        async with ClientSession(streams[0], streams[1], client_info=info, message_handler=forward) as remote:
            await remote.initialize()
            proxy = StdioProxy(remote)
            async with stdio_server() as (read, write):
                options = proxy.server.create_initialization_options(NotificationOptions(tools_changed=True))
                await proxy.server.run(read, write, options)
