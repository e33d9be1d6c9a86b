"""The event bus as services reach it: through the session (set up by the native RMM module)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.events import Event, EventBus, publish_after_commit


def session_bus(session: AsyncSession) -> EventBus | None:
    """The bus the native RMM module put in the session factory's ``info`` (None outside a hub)."""
    bus: EventBus | None = session.info.get("bus")
    return bus


def announce(
    session: AsyncSession, topic: str, *, org_id: int | None, bus: EventBus | None = None, **data: Any
) -> None:
    """Publish ``topic`` after commit on ``bus`` or the session's bus (nothing without one)."""
    target = bus or session_bus(session)
    if target is not None:
        publish_after_commit(session, target, Event(topic=topic, org_id=org_id, data=data))
