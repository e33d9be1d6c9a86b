"""What the connector's tools need from the connection manager: a client per organisation, its granted
scopes and the script-run settings. Tools depend on this protocol, not on :mod:`.manager` (which builds
the tools), so the two never import each other."""

from __future__ import annotations

from typing import Protocol

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.settings import ConnectWiseSettings


class ClientSource(Protocol):
    """Where a tool gets the ConnectWise client of the caller's organisation."""

    @property
    def settings(self) -> ConnectWiseSettings:
        """Script wait bounds and polling interval."""
        ...

    def client_for(self, org_id: int) -> ConnectWiseClient:
        """The organisation's client (raises a ToolError when it has no usable connection)."""
        ...

    def granted_scopes(self, org_id: int) -> tuple[str, ...]:
        """The API scopes the organisation's key was granted."""
        ...
