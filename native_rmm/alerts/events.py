"""Alert events on the bus (``alert.raised``, ``alert.acknowledged``, ``alert.resolved``), after commit.

Callers that hold the bus pass it in. The batched metric ingest calls
:func:`native_rmm.alerts.service.evaluate_sample` with a session only, so the module binds each
hub's bus to its :class:`~hub.core.db.Database` at start-up (:func:`bind_bus`) and the bus is found
from the session (``session.info["database"]``, set by ``Database``'s session factory).
"""

from __future__ import annotations

import logging
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.db import Database
from hub.core.events import Event, EventBus, publish_after_commit
from native_rmm.models.alerts import Alert

log = logging.getLogger(__name__)

_BUSES: WeakKeyDictionary[Database, EventBus] = WeakKeyDictionary()


def bind_bus(db: Database, bus: EventBus) -> None:
    """Publish alert events of sessions of ``db`` on ``bus`` (called by the module at start-up)."""
    _BUSES[db] = bus


def unbind_bus(db: Database) -> None:
    """Forget the bus of ``db`` (module stop)."""
    _BUSES.pop(db, None)


def bus_for(session: AsyncSession, bus: EventBus | None = None) -> EventBus | None:
    """``bus`` when given, else the bus bound to the session's database (None outside a running hub)."""
    if bus is not None:
        return bus
    in_session: EventBus | None = session.info.get("bus")  # the device plane's module may put it there
    if in_session is not None:
        return in_session
    db = session.info.get("database")
    return _BUSES.get(db) if isinstance(db, Database) else None


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
    publish_after_commit(session, target, Event(topic=f"alert.{topic}", org_id=alert.org_id, data=data))
