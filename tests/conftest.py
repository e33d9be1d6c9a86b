"""Shared fixtures: a real database per backend (SQLite always, PostgreSQL when
``RMMHUB_TEST_DATABASE_URL`` is set), the hub app in-process or on loopback, users of every role.

Every test that uses the database runs once per backend (ids ``[sqlite]`` / ``[postgresql]``).
The schema is built by the real Alembic migrations once per backend; each test starts from empty
tables.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from playwright.async_api import expect
from sqlalchemy import text

import hub.core.security as security
from hub.core.auth.service import create_api_token, create_user
from hub.core.context import HubContext
from hub.core.db import Base, Database, create_cli_engine
from hub.core.roles import Role
from hub.core.settings import Environment, Settings
from hub.core.tenancy import create_organization
from hub.main import create_app, load_models
from hub.migrate import upgrade
from native_rmm.installers.service import ensure_base_installer, installer_token
from tests.ports import free_port
from tests.waiting import ThreadedServer

# Browser assertions wait for the page's own signal (a swap, a live event) up to this bound; Playwright's
# 5 s default is shorter than one live round trip on a two-core runner shared with other work.
expect.set_options(timeout=15_000)

load_models()
# Cheap argon2 parameters keep the suite fast; production parameters are exercised by test_security.
security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PG_URL = os.environ.get("RMMHUB_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
SECRET = "test-secret-key-" + "x" * 40
ARTIFACTS = Path(__file__).parent / "artifacts"
#: Audit witness files of test hubs: one per Settings, never the repository's ./var.
WITNESS_DIR = Path(tempfile.mkdtemp(prefix="rmmhub-witness-"))


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


class _Databases:
    """Each backend's migrated database, private to this test session (to this xdist worker), made on first use.

    Both stay up for the whole session, so tests of the two backends may run in any order (one file's tests
    run together on one worker) without a database being dropped and migrated again at each switch.
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._urls: dict[str, str] = {}
        self._pg_name: str | None = None

    def url(self, backend: str) -> str:
        if backend not in self._urls:
            self._urls[backend] = self._sqlite() if backend == "sqlite" else self._postgresql()
        return self._urls[backend]

    def _sqlite(self) -> str:
        url = f"sqlite+aiosqlite:///{self._tmp.mktemp('db') / 'rmmhub.db'}"
        upgrade(url)
        return url

    def _postgresql(self) -> str:
        self._pg_name = f"rmmhub_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        _pg_admin(f'CREATE DATABASE "{self._pg_name}"')
        url = PG_URL.rsplit("/", 1)[0] + "/" + self._pg_name
        upgrade(url)
        return url

    def drop(self) -> None:
        if self._pg_name is not None:
            _pg_admin(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    made = _Databases(tmp_path_factory)
    try:
        yield made
    finally:
        made.drop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, _databases: _Databases) -> str:
    """A migrated database of one backend (``[sqlite]`` / ``[postgresql]``), private to this test session."""
    return _databases.url(request.param)


async def _truncate(url: str) -> None:
    engine = create_cli_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))
            has_sequence = await conn.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'"))
            if has_sequence.first() is not None:
                await conn.execute(text("DELETE FROM sqlite_sequence"))
    await engine.dispose()


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test hub: dev mode, fixed secret, no scheduler."""
    values: dict[str, object] = {
        "env": Environment.DEV,
        "secret_key": SECRET,
        "database_url": database_url,
        "scheduler_enabled": False,
        "redis_url": None,
        "relay_port": 0,  # each test hub's embedded relay takes a free port (tickets name it)
        "audit_witness": WITNESS_DIR / f"{uuid.uuid4().hex}.log",
        "remote_recordings_dir": WITNESS_DIR / "recordings" / uuid.uuid4().hex,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
async def clean_db(database_url: str) -> str:
    """The database URL, with every table emptied before the test."""
    await _truncate(database_url)
    return database_url


@pytest.fixture
def settings(clean_db: str) -> Settings:
    """Settings of the hub under test."""
    return make_settings(clean_db)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """A database handle in the test's own event loop (independent of any running hub)."""
    database = Database(create_cli_engine(settings.database_url), secret_key=settings.secret)
    yield database
    await database.dispose()


@dataclass
class TestUser:
    """A user created for a test, with the plain password and an API token."""

    __test__ = False

    id: int
    username: str
    password: str
    role: Role
    org_id: int
    token: str


@dataclass
class Tenancy:
    """The organisation and one user per role."""

    org_id: int
    admin: TestUser
    approver: TestUser
    approver2: TestUser
    operator: TestUser
    viewer: TestUser


@pytest.fixture
async def tenancy(db: Database) -> Tenancy:
    """An organisation with users of every role (two approvers, for self-approval tests)."""
    async with db.transaction() as session:
        org = await create_organization(session, name="Acme MSP")
        made: dict[str, TestUser] = {}
        for username, role in [
            ("alice", Role.ADMIN),
            ("bob", Role.APPROVER),
            ("bea", Role.APPROVER),
            ("olga", Role.OPERATOR),
            ("vic", Role.VIEWER),
        ]:
            password = f"{username}-password-123"
            user = await create_user(session, org_id=org.id, username=username, password=password, role=role)
            token, _ = await create_api_token(session, user, name="tests")
            made[username] = TestUser(user.id, username, password, role, org.id, token)
    return Tenancy(org.id, made["alice"], made["bob"], made["bea"], made["olga"], made["vic"])


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The hub app with its lifespan running, in the test's event loop."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    await _end_leftover_tasks()


async def _end_leftover_tasks() -> None:
    """Cancel and await what the test left running in its loop (a coalesced alert check, a late flush).

    A task destroyed with the loop would leave its database connection (and on SQLite the write
    lock) open until garbage collection, and the next test's set-up would meet "database is locked".
    """
    current = asyncio.current_task()
    leftovers = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        await asyncio.wait(leftovers, timeout=30)


@pytest.fixture
def hub(app: FastAPI) -> HubContext:
    """The running app's :class:`HubContext`."""
    context: HubContext = app.state.hub
    return context


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An unauthenticated client talking to the app in-process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as client:
        yield client


@pytest.fixture
async def client_for(app: FastAPI) -> AsyncIterator[Callable[[TestUser], httpx.AsyncClient]]:
    """``client_for(user)``: an API client authenticated with the user's bearer token."""
    clients: list[httpx.AsyncClient] = []

    def make(user: TestUser) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://hub.test",
            headers={"Authorization": f"Bearer {user.token}"},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def warm_up(url: str) -> None:
    """Answer the first page and API requests before a test's clock starts.

    FastAPI builds a router's dependants on its first request (half a second of CPU for the UI); on
    a loaded machine that first answer can outlast a browser's navigation timeout.
    """
    for path in ("/login", "/api/v1/tools", "/healthz"):
        httpx.get(url + path, timeout=120)


@dataclass
class LiveServer:
    """A real hub served by uvicorn on loopback in a background thread."""

    url: str
    app: FastAPI
    settings: Settings


@pytest.fixture
def live_overrides() -> dict[str, object]:
    """Extra settings of the live hub; a test module overrides this fixture (e.g. a short idle timeout)."""
    return {}


@pytest.fixture
def live_server(settings: Settings, live_overrides: dict[str, object]) -> Iterator[LiveServer]:
    """Run the hub on a real loopback port for browsers, agents and WebSocket clients.

    Teardown returns only once the server, its lifespan and its background writers have ended.
    """
    port = free_port()
    live_settings = make_settings(
        settings.database_url, port=port, public_url=f"http://127.0.0.1:{port}", **live_overrides
    )
    application = create_app(live_settings)
    server = ThreadedServer(application, port=port, name="live-hub", ws="websockets-sansio")
    server.start()
    warm_up(f"http://127.0.0.1:{port}")
    yield LiveServer(f"http://127.0.0.1:{port}", application, live_settings)
    server.stop()


async def base_token(db: Database, org_id: int) -> str:
    """The plain token of the organisation's Base installer (created on first use)."""
    async with db.transaction() as session:
        return installer_token(session, await ensure_base_installer(session, org_id=org_id))


async def rest_login(client: httpx.AsyncClient, username: str, password: str, **headers: str) -> httpx.Response:
    """``POST /api/v1/auth/login`` with a username and password (extra request headers as keywords)."""
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password}, headers=headers)
