"""The long-lived objects of one hub process, built by ``hub.main`` and reached from ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.core.db import Database
from hub.core.events import EventBus
from hub.core.registry import ToolRegistry
from hub.core.settings import Settings


@dataclass
class HubContext:
    """Settings, database, event bus and tool registry of this process.

    ``services`` holds objects that higher layers register by name (the policy gate, the command
    dispatcher, connector managers); lower layers never look inside it.
    """

    settings: Settings
    db: Database
    bus: EventBus
    registry: ToolRegistry
    services: dict[str, Any] = field(default_factory=dict)
