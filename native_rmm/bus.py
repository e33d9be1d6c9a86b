"""Publishing native RMM events from services: on the given bus or the session's (``hub.core.uow.session_bus``)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.events import EventBus, Topic
from hub.core.uow import publish_after_commit, session_bus

D = TypeVar("D", bound=BaseModel)


def announce(
    session: AsyncSession, topic: Topic[D], data: D, *, org_id: int | None, bus: EventBus | None = None
) -> None:
    """Publish ``data`` on ``topic`` after commit on ``bus`` or the session's bus (nothing without one)."""
    target = bus or session_bus(session)
    if target is not None:
        publish_after_commit(session, target, topic.event(org_id, data))
