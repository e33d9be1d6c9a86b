"""Async SQLAlchemy engine, sessions, the declarative base and the unit-of-work boundary.

Services receive an ``AsyncSession`` and may flush, never commit. The boundary (the request
dependency, a job runner, a CLI command) commits through :meth:`Database.transaction`, and then
runs the callbacks registered with :func:`hub.core.uow.after_commit` (event publication, audit
sealing), so nothing is announced that was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from hub.core.errors import NotFound
from hub.core.events import EventBus
from hub.core.uow import HubScope, LocalListener, finish, scope_info

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of datetime stored)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always round-trips as an aware UTC datetime, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use hub.core.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table in rmmhub."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the engine for ``url``: SQLite gets WAL and foreign keys, PostgreSQL a sized pool."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 15})
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_size=20, max_overflow=20, pool_pre_ping=True)


def create_cli_engine(url: str) -> AsyncEngine:
    """An engine without pooling for short-lived CLI commands."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 15})
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_async_engine(url, poolclass=NullPool)


#: The session type for code that holds a session without speaking SQL itself (pages pass it to read services).
DbSession = AsyncSession
Row = TypeVar("Row", bound=Base)


async def get_in_org(session: AsyncSession, model: type[Row], row_id: int, org_id: int) -> Row | None:
    """The ``model`` row ``row_id`` when it belongs to organisation ``org_id``, else None (the caller raises
    its own "does not exist": another tenant's row is reported exactly like a missing one)."""
    row = await session.get(model, row_id)
    if row is None or getattr(row, "org_id", None) != org_id:
        return None
    return row


async def require_in_org(session: AsyncSession, model: type[Row], row_id: int, org_id: int, *, missing: str) -> Row:
    """The ``model`` row ``row_id`` of organisation ``org_id``.

    Raises:
        NotFound: with ``missing`` as its message, when there is no such row or it is another tenant's.
    """
    row = await get_in_org(session, model, row_id, org_id)
    if row is None:
        raise NotFound(missing)
    return row


class Database:
    """The engine and session factory of one hub process."""

    def __init__(self, engine: AsyncEngine, *, secret_key: str, bus: EventBus | None = None) -> None:
        """``bus`` is reachable from every session (``hub.core.uow.session_bus``) so services can
        publish after commit without threading it through every call."""
        self.engine = engine
        self.bus = bus
        self.scope = HubScope(secret_key=secret_key, bus=bus, database=self)
        self._sessionmaker = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=True, info=scope_info(self.scope)
        )

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """The session factory (every session carries this database's :class:`~hub.core.uow.HubScope`)."""
        return self._sessionmaker

    def on_local_event(self, listener: LocalListener) -> None:
        """Call ``listener`` with every event this process commits, before the bus delivers it."""
        self.scope.local_listeners.append(listener)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on error, then runs after-commit hooks."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            callbacks = finish(session)
        for callback in callbacks:
            await callback()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
