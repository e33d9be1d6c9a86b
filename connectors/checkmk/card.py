"""The Checkmk card on ``/integrations``: name, blurb, link to Admin > Checkmk and the connection status."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from connectors.checkmk.models import ConnectionStatus
from connectors.checkmk.service import get_connection


@dataclass(frozen=True)
class CheckmkCard:
    """Satisfies ``ui.integrations.IntegrationCard``: "Connected", "Not connected" or "Error: <reason>"."""

    name: str = "Checkmk"
    description: str = (
        "Host state and OK/WARN/CRIT/UNKNOWN service counts of a Checkmk site on the device pages; "
        "CRIT and WARN hosts raise alerts that the alert rules see."
    )
    href: str = "/admin/checkmk"

    async def status(self, session: AsyncSession, org_id: int) -> str:
        """The connection status of ``org_id``, with the reason when it is in error."""
        connection = await get_connection(session, org_id)
        if connection is None or connection.status is ConnectionStatus.DISCONNECTED:
            return "Not connected"
        if connection.status is ConnectionStatus.ERROR:
            return f"Error: {connection.last_error or 'unknown'}"
        return "Connected"
