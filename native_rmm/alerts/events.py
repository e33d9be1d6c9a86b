"""Alert events on the bus (``alert.raised``, ``alert.acknowledged``, ``alert.resolved``), after commit.

Callers that hold the bus pass it in; otherwise the session's bus is used
(:func:`hub.core.events.session_bus`), as for the batched metric ingest.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.events import EventBus
from hub.core.uow import publish_after_commit, session_bus
from native_rmm.events import ALERT_TOPICS, AlertChanged
from native_rmm.models.alerts import Alert

log = logging.getLogger(__name__)


def bus_for(session: AsyncSession, bus: EventBus | None = None) -> EventBus | None:
    """``bus`` when given, else the session's (None outside a running hub)."""
    return bus if bus is not None else session_bus(session)


def announce(session: AsyncSession, bus: EventBus | None, topic: str, alert: Alert, **extra: object) -> None:
    """Publish ``alert.<topic>`` for ``alert`` once the session commits."""
    target = bus_for(session, bus)
    if target is None:
        log.debug("no event bus bound for this session; alert.%s of alert %s not published", topic, alert.id)
        return
    data: dict[str, object] = {
        "alert_id": alert.id,
        "device_id": alert.device_id,
        "monitor_id": alert.monitor_id,
        "source": alert.source.value,
        "metric": alert.metric.value if alert.metric else None,
        "severity": alert.severity.value,
        "status": alert.status.value,
        "message": alert.message,
        **extra,
    }
    publish_after_commit(session, target, ALERT_TOPICS[topic].event(alert.org_id, AlertChanged.model_validate(data)))
