"""The MCP module: ``/mcp`` (streamable HTTP), the OAuth authorization server and list_changed fan-out.

Routes are the SDK's own ASGI endpoints mounted on the hub's app; the SDK's session manager runs
for the life of the hub (started in :meth:`McpModule.start`, stopped in :meth:`McpModule.stop`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import anyio
from fastapi import APIRouter
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.routes import (
    build_resource_metadata_url,
    create_auth_routes,
    create_protected_resource_routes,
    validate_issuer_url,
)
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.core.context import HubContext
from hub.core.registry import ToolRegistry
from hub.core.scheduler import Scheduler
from hub.core.tasks import start_task, stop_task
from hub.mcp.oauth import HubOAuthProvider
from hub.mcp.server import McpServer
from hub.mcp.tokens import MCP_SCOPE, HubTokenVerifier
from policies.events import POLICY_CHANGED
from policies.pipeline import Gate

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"


class _Lazy:
    """An ASGI endpoint whose app exists only once the module started (routes are mounted before)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("the MCP endpoint is not started")
        await self.app(scope, receive, send)


class McpModule:
    """Streamable HTTP at ``/mcp`` for the gated tools; OAuth 2.1 for clients that only speak OAuth."""

    name = "mcp"

    def __init__(self, gate: Gate, *, base_url: str) -> None:
        self.gate = gate
        self.base_url = base_url.rstrip("/")
        self._endpoint = _Lazy()
        self._task: asyncio.Task[None] | None = None
        self.server: McpServer | None = None
        self._changed = anyio.Event()
        self.oauth = HubOAuthProvider(base_url=self.base_url)

    @property
    def resource_url(self) -> AnyHttpUrl:
        """This hub's MCP endpoint as an OAuth protected resource."""
        return AnyHttpUrl(self.base_url + MCP_PATH)

    def routers(self) -> Sequence[APIRouter]:
        router = APIRouter(include_in_schema=False)
        router.routes.append(Route(MCP_PATH, endpoint=self._endpoint, methods=["GET", "POST", "DELETE"]))
        metadata = create_protected_resource_routes(
            resource_url=self.resource_url,
            authorization_servers=[AnyHttpUrl(self.base_url)],
            scopes_supported=[MCP_SCOPE],
            resource_name="rmmhub",
        )
        try:
            validate_issuer_url(AnyHttpUrl(self.base_url))
        except ValueError:
            log.warning(
                "MCP OAuth is off: the hub's URL %s is neither https nor loopback (set RMMHUB_PUBLIC_URL)",
                self.base_url,
            )
        else:
            router.routes.extend(
                create_auth_routes(
                    provider=self.oauth,
                    issuer_url=AnyHttpUrl(self.base_url),
                    client_registration_options=ClientRegistrationOptions(
                        enabled=True, valid_scopes=[MCP_SCOPE], default_scopes=[MCP_SCOPE]
                    ),
                    revocation_options=RevocationOptions(enabled=True),
                )
            )
        for route in metadata:
            router.routes.append(route)
            # Clients that look the metadata up at the root (no resource path) find it too.
            router.routes.append(
                Route("/.well-known/oauth-protected-resource", endpoint=route.endpoint, methods=["GET", "OPTIONS"])
            )
        return [router]

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        self.oauth.bind(hub.db)
        server = McpServer(hub, self.gate)
        self.server = server
        manager = StreamableHTTPSessionManager(
            app=server.server,
            # Every request needs a bearer token, which browsers never attach on their own: no DNS-rebinding risk.
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        verifier = HubTokenVerifier(hub.db)
        app: ASGIApp = RequireAuthMiddleware(
            StreamableHTTPASGIApp(manager), [MCP_SCOPE], build_resource_metadata_url(self.resource_url)
        )
        app = AuthenticationMiddleware(app, backend=BearerAuthBackend(verifier))
        self._endpoint.app = app
        loop = asyncio.get_running_loop()

        # Registry changes may come from any thread (tests, replicas' sync jobs): wake the fan-out on its loop.
        def changed(_registry: ToolRegistry) -> None:
            loop.call_soon_threadsafe(self._wake)

        hub.registry.on_change(changed)
        ready = asyncio.Event()
        self._task = start_task(self._serve(manager, hub, ready), name="mcp-session-manager")
        started = asyncio.ensure_future(ready.wait())
        await asyncio.wait({started, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            started.cancel()
            await self._task  # raises what stopped it from starting

    async def _serve(self, manager: StreamableHTTPSessionManager, hub: HubContext, ready: asyncio.Event) -> None:
        """The session manager and its helpers, entered and left in this one task (anyio's cancel scopes must be)."""
        async with manager.run(), anyio.create_task_group() as tg:
            tg.start_soon(self._fan_out)
            tg.start_soon(self._watch_policies, hub)
            ready.set()
            await anyio.sleep_forever()

    def _wake(self) -> None:
        self._changed.set()

    async def _fan_out(self) -> None:
        """Tell listening sessions their tool list changed (coalesced: one notification per burst)."""
        while True:
            await self._changed.wait()
            self._changed = anyio.Event()
            if self.server is not None:
                await self.server.notify_tools_changed()

    async def _watch_policies(self, hub: HubContext) -> None:
        async with hub.bus.subscribe(POLICY_CHANGED.name) as events:
            async for _event in events:
                self._wake()

    async def stop(self) -> None:
        self._endpoint.app = None
        self.oauth.bind(None)
        await stop_task(self._task)
        self._task = None
