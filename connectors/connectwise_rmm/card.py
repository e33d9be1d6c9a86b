"""The ConnectWise RMM card on ``/integrations``: name, blurb, link and the organisation's connection status."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from connectors.connectwise_rmm.models import ConnectionStatus
from connectors.connectwise_rmm.service import get_connection

CONNECTED = "Connected"
NOT_CONNECTED = "Not connected"


@dataclass(frozen=True)
class ConnectWiseCard:
    """Satisfies ``ui.integrations.IntegrationCard``: "Connected", "Not connected" or "Error: <reason>"."""

    name: str = "ConnectWise RMM"
    description: str = (
        "Devices, patches, tickets and automation scripts of your ConnectWise RMM (Asio) tenant, "
        "as policy-gated tools. Each active shell script becomes its own tool."
    )
    href: str = "/integrations/connectwise-rmm"

    async def status(self, session: AsyncSession, org_id: int) -> str:
        """The connection status of ``org_id``, with the exact reason when it is in error."""
        connection = await get_connection(session, org_id)
        if connection is None or connection.status is ConnectionStatus.DISCONNECTED:
            return NOT_CONNECTED
        if connection.status is ConnectionStatus.ERROR:
            return f"Error: {connection.last_error or 'unknown'}"
        return CONNECTED
