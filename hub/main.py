"""Composition root: builds the FastAPI app and registers every module and tool source explicitly."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from connectors.checkmk.module import CheckmkModule
from connectors.connectwise_rmm.module import ConnectWiseModule
from hub import __version__
from hub.assistant.module import AssistantModule
from hub.core import audit
from hub.core.bodylimit import BodyLimitMiddleware, BodyTooLarge
from hub.core.client_address import ClientAddressMiddleware
from hub.core.context import HubContext
from hub.core.db import Database, create_engine
from hub.core.deps import CsrfFailed, NotAuthenticated
from hub.core.errors import RmmHubError, ToolArgumentError, error_id
from hub.core.events import create_bus
from hub.core.jsonutil import clip
from hub.core.module import HubModule
from hub.core.notify.module import NotifyModule
from hub.core.openapi import install_documented_openapi
from hub.core.redact import install_access_log_redaction
from hub.core.registry import ToolRegistry
from hub.core.routes import router as core_router
from hub.core.scheduler import Scheduler
from hub.core.security_headers import SecurityHeadersMiddleware
from hub.core.settings import Settings, get_settings
from hub.core.shutdown import run_steps
from hub.core.validation import describe_validation_error
from hub.mcp.module import McpModule
from native_rmm.module import NativeRmmModule
from policies.module import PoliciesModule
from policies.pipeline import Gate
from relay.module import RelayModule
from ui.errors import error_page, wants_html
from ui.module import UiModule

log = logging.getLogger(__name__)

AUDIT_SEAL_INTERVAL_SECONDS = 10
MODEL_MODULES = (
    "hub.core.models",
    "hub.core.audit",
    "hub.core.notify.models",
    "policies.models",
    "native_rmm.models",
    "connectors.connectwise_rmm.models",
    "connectors.checkmk.models",
    "hub.assistant.models",
    "hub.mcp.models",
)


def load_models() -> None:
    """Import every module that defines tables (Alembic and ``create_all`` need them all)."""
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)


def default_modules(gate: Gate) -> list[HubModule]:
    """Every feature module of the hub, in start order; the ones that invoke tools get the gate."""
    return [
        PoliciesModule(gate),
        NotifyModule(),
        NativeRmmModule(gate),
        ConnectWiseModule(gate),
        CheckmkModule(),
        RelayModule(),
        AssistantModule(gate),
        McpModule(gate, base_url=gate.settings.base_url),
        UiModule(),
    ]


def create_app(
    settings: Settings | None = None, *, modules: Callable[[Gate], Sequence[HubModule]] = default_modules
) -> FastAPI:
    """Build the hub application (the lifespan opens the database, bus, modules and scheduler).

    The one policy :class:`Gate` of the process is built here and handed to the modules that need it.
    """
    settings = settings or get_settings()
    install_access_log_redaction()
    bus = create_bus(settings.redis_url, settings.redis_channel)
    if settings.redis_url and not settings.public_url:
        log.warning(
            "RMMHUB_REDIS_URL is set (replicas) but RMMHUB_PUBLIC_URL is not: install commands will carry "
            "this replica's own address; set it to the load balancer's URL (README, Scale-out)"
        )
    db = Database(create_engine(settings.database_url), secret_key=settings.secret, bus=bus)
    registry = ToolRegistry()
    scheduler = Scheduler(db)
    hub = HubContext(settings=settings, db=db, bus=bus, registry=registry, scheduler=scheduler)
    gate = Gate(registry=registry, bus=bus, settings=settings)
    hub.components.add(gate)
    mods = list(modules(gate))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await hub.bus.start()
        for mod in mods:
            await mod.start(hub, scheduler)

        async def seal_audit() -> int:
            return await audit.seal_retries(hub.db, settings.secret)

        async def checkpoint_audit() -> object:
            return await audit.write_checkpoint(hub.db, settings.secret, settings.audit_witness)

        scheduler.add("audit-seal", seal_audit, seconds=AUDIT_SEAL_INTERVAL_SECONDS)
        scheduler.add("audit-checkpoint", checkpoint_audit, seconds=settings.audit_checkpoint_minutes * 60)
        if settings.scheduler_enabled:
            await scheduler.start()
        try:
            yield
        finally:
            await run_steps(
                ("scheduler", scheduler.stop),
                *((f"module {mod.name}", mod.stop) for mod in reversed(mods)),
                ("audit checkpoint", lambda: _final_checkpoint(hub)),
                ("event bus", hub.bus.stop),
                ("database", hub.db.dispose),
            )

    # No /docs or /redoc: both load Swagger/ReDoc from a CDN with inline script (no CDN, strict CSP).
    app = FastAPI(
        title="rmmhub",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.hub = hub
    app.include_router(core_router)
    for mod in mods:
        for router in mod.routers():
            app.include_router(router)
    _install_error_handlers(app)
    install_documented_openapi(app)
    # Outermost last: security headers on every response (a 413 included), then the body cap, then the
    # client address. The agent API caps each message itself (protocol limits, in the agent's error format).
    app.add_middleware(ClientAddressMiddleware, trusted=settings.trusted_proxies)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes, exempt_prefixes=("/agent/",))
    app.add_middleware(
        SecurityHeadersMiddleware,
        hsts=settings.base_url.startswith("https://"),
        connect=lambda: settings.relay_public_url,  # the Remote Connection window dials the relay
    )
    return app


async def _final_checkpoint(hub: HubContext) -> None:
    """At shutdown: the last signed checkpoint of the audit chain head (a failure is logged, not raised)."""
    try:
        await audit.write_checkpoint(hub.db, hub.settings.secret, hub.settings.audit_witness)
    except (SQLAlchemyError, OSError):
        log.exception("could not write the shutdown audit checkpoint to %s", hub.settings.audit_witness)


def _error(request: Request, status: int, message: str, **extra: object) -> Response:
    if wants_html(request):
        return error_page(request, status, message)
    return JSONResponse({"status": "error", "message": message, **extra}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if request.headers.get("hx-request"):
            # htmx would swap the login page into a fragment; ask it to navigate instead.
            return Response(status_code=401, headers={"HX-Redirect": f"/login?next={request.url.path}"})
        if wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse({"status": "error", "message": str(exc) or "sign in first"}, status_code=401)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(ToolArgumentError)
    async def _tool_args(request: Request, exc: ToolArgumentError) -> Response:
        return _error(request, 422, exc.message, path=exc.path, problem=exc.problem, tool=exc.tool_id)

    @app.exception_handler(RmmHubError)
    async def _domain(request: Request, exc: RmmHubError) -> Response:
        return _error(request, exc.status_code, exc.message)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        return _error(request, 413, exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # Starlette's own answers (no such route, method not allowed) in the hub's error shape.
        response = _error(request, exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Last resort: a bug. The traceback is logged under an id; the answer carries the id only.
        reference = error_id()
        log.error("unexpected error (error id %s) on %s", reference, request.method, exc_info=exc)
        message = f"internal error (error id {reference}); the hub's log has the details"
        return _error(request, 500, message, error_id=reference)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        # Never echo the input back (it may be megabytes): locations and messages are clipped, values dropped.
        errors = [
            {
                "loc": [clip(p, 80) if isinstance(p, str) else p for p in e.get("loc", ())][:10],
                "msg": clip(str(e.get("msg", "invalid")), 300),
            }
            for e in exc.errors()[:20]
        ]
        message = "invalid request: " + describe_validation_error(exc, root="body", skip=("body",))
        return _error(request, 422, message, errors=errors)
