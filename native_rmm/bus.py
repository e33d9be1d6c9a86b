"""Publishing native RMM events from services: on the given bus or the session's (``hub.core.events.session_bus``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.events import Event, EventBus
from hub.core.uow import publish_after_commit, session_bus


def announce(
    session: AsyncSession, topic: str, *, org_id: int | None, bus: EventBus | None = None, **data: Any
) -> None:
    """Publish ``topic`` after commit on ``bus`` or the session's bus (nothing without one)."""
    target = bus or session_bus(session)
    if target is not None:
        publish_after_commit(session, target, Event(topic=topic, org_id=org_id, data=data))
