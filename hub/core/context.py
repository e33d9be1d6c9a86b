"""The long-lived objects of one hub process, built by ``hub.main`` and reached from ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from hub.core.db import Database
from hub.core.events import EventBus
from hub.core.registry import ToolRegistry
from hub.core.scheduler import Scheduler
from hub.core.settings import Settings

T = TypeVar("T")


class Components:
    """The objects higher layers add (the policy gate, the device plane, connector managers), found by type.

    Lookups are by class, so they are typed (``components.get(Gate)`` is a ``Gate``) and a missing one
    names what is missing; lower layers never look inside.
    """

    def __init__(self) -> None:
        self._by_type: dict[type[Any], Any] = {}

    def add(self, component: object) -> None:
        """Add ``component`` under its own class; a second one of the same class is an error."""
        kind = type(component)
        if kind in self._by_type:
            raise ValueError(f"a {kind.__name__} is already wired into this hub")
        self._by_type[kind] = component

    def get(self, kind: type[T]) -> T:
        """The component of class ``kind``.

        Raises:
            LookupError: the module that provides it is not part of this hub (or has not started).
        """
        found = self.find(kind)
        if found is None:
            raise LookupError(f"no {kind.__name__} is wired into this hub")
        return found

    def find(self, kind: type[T]) -> T | None:
        """The component of class ``kind``, or None."""
        return cast(T | None, self._by_type.get(kind))

    def remove(self, kind: type[Any]) -> None:
        """Forget the component of class ``kind`` (at shutdown)."""
        self._by_type.pop(kind, None)


@dataclass
class HubContext:
    """Settings, database, event bus, tool registry and scheduler of this process, plus its components."""

    settings: Settings
    db: Database
    bus: EventBus
    registry: ToolRegistry
    scheduler: Scheduler
    components: Components = field(default_factory=Components)
