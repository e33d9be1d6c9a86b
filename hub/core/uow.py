"""The typed context of a unit of work: what a session carries besides its connection.

Per hub process (set once by :class:`hub.core.db.Database` on its session factory) a :class:`HubScope`:
the secret key, the event bus, where fresh sessions come from, and the local listeners that see this
process's events the moment they are committed. Per session a :class:`UnitOfWork`: the callbacks to
run after commit, whether the audit chain is already due to be sealed, and typed :class:`Slot`\\ s a
service keeps for the life of one session (a cache, a "sync once" set). Nothing else is kept in
``session.info``; reach it through :func:`uow_of` / :func:`scope_of`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.core.events import Event, EventBus

AfterCommit = Callable[[], Awaitable[None]]
LocalListener = Callable[[Event], None]
T = TypeVar("T")

_SCOPE_KEY = "rmmhub.scope"
_UOW_KEY = "rmmhub.uow"


class SessionSource(Protocol):
    """Where fresh sessions come from (a :class:`hub.core.db.Database`)."""

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...


@dataclass(frozen=True, eq=False)
class HubScope:
    """What every session of one hub process shares."""

    secret_key: str
    bus: EventBus | None
    database: SessionSource
    local_listeners: list[LocalListener] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Slot(Generic[T]):
    """A typed per-session value owned by one service (identity is the slot object, not its name)."""

    name: str
    factory: Callable[[], T]


@dataclass(eq=False)
class UnitOfWork:
    """The state of one session's unit of work."""

    scope: HubScope | None
    after_commit: list[AfterCommit] = field(default_factory=list)
    audit_seal_scheduled: bool = False
    _slots: dict[Slot[Any], Any] = field(default_factory=dict)

    def slot(self, slot: Slot[T]) -> T:
        """The session's value of ``slot`` (made by its factory on first use)."""
        if slot not in self._slots:
            self._slots[slot] = slot.factory()
        return cast(T, self._slots[slot])


def scope_info(scope: HubScope) -> dict[str, Any]:
    """The ``info`` of a session factory whose sessions belong to ``scope``."""
    return {_SCOPE_KEY: scope}


def uow_of(session: AsyncSession) -> UnitOfWork:
    """The unit of work of ``session`` (started on first use)."""
    uow = session.info.get(_UOW_KEY)
    if not isinstance(uow, UnitOfWork):
        uow = UnitOfWork(scope=session.info.get(_SCOPE_KEY))
        session.info[_UOW_KEY] = uow
    return uow


def scope_of(session: AsyncSession) -> HubScope:
    """The hub scope of ``session``.

    Raises:
        RuntimeError: the session was not made by a :class:`hub.core.db.Database` (a programming error).
    """
    scope = uow_of(session).scope
    if scope is None:
        raise RuntimeError("this session was not made by hub.core.db.Database")
    return scope


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once the session's transaction has committed (dropped on rollback)."""
    uow_of(session).after_commit.append(callback)


def finish(session: AsyncSession) -> list[AfterCommit]:
    """End the session's unit of work; returns the after-commit callbacks to run now."""
    uow = session.info.pop(_UOW_KEY, None)
    return uow.after_commit if isinstance(uow, UnitOfWork) else []


def session_bus(session: AsyncSession) -> EventBus | None:
    """The bus of the hub the session belongs to (None for sessions of a bus-less ``Database``, e.g. the CLI)."""
    scope = uow_of(session).scope
    return scope.bus if scope is not None else None


def publish_after_commit(session: AsyncSession, bus: EventBus, event: Event) -> None:
    """Publish ``event`` once ``session`` commits; nothing is published on rollback.

    This process's local listeners see it first, synchronously, so state they cache (for example the
    agent check-in cache's "nothing pending" marks) is right before the request that caused it answers.
    """
    scope = uow_of(session).scope
    listeners = list(scope.local_listeners) if scope is not None else []

    async def _publish() -> None:
        for listener in listeners:
            listener(event)
        await bus.publish(event)

    after_commit(session, _publish)
