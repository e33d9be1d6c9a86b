"""Cards on ``/integrations``: one per integration, each knowing its own connection status.

An integration package adds its card to :data:`CARDS` (or replaces the placeholder below with an
object whose :meth:`IntegrationCard.status` reads its own tables). Status strings are short and
human: "Connected", "Not connected", "Error: token rejected".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from connectors.checkmk.card import CheckmkCard
from connectors.connectwise_rmm.card import ConnectWiseCard
from hub.core.db import DbSession

NOT_CONNECTED = "Not connected"


class IntegrationCard(Protocol):
    """What ``/integrations`` needs to draw one card."""

    @property
    def name(self) -> str:
        """Product name, e.g. "ConnectWise RMM"."""
        ...

    @property
    def description(self) -> str:
        """One or two sentences on what connecting it gives."""
        ...

    @property
    def href(self) -> str:
        """The integration's own page (connect form, settings, script policies)."""
        ...

    async def status(self, session: DbSession, org_id: int) -> str:
        """The connection status in ``org_id`` ("Connected", "Not connected", ...)."""
        ...


@dataclass(frozen=True)
class StaticCard:
    """A card whose integration has no status of its own yet: always "Not connected"."""

    name: str
    description: str
    href: str

    async def status(self, session: DbSession, org_id: int) -> str:
        """Always :data:`NOT_CONNECTED`."""
        return NOT_CONNECTED


#: Every integration card, in display order.
CARDS: list[IntegrationCard] = [ConnectWiseCard(), CheckmkCard()]
