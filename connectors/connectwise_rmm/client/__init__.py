"""The ConnectWise RMM (Asio partner API) HTTP client: auth, session, retry, pagination, rate limit and
one endpoint mixin per API family, composed by :class:`~connectors.connectwise_rmm.client.api.ConnectWiseClient`.

It knows nothing of the hub; the integration (connections, discovery, tools, routes, CLI) lives one level up.
"""

from __future__ import annotations

from connectors.connectwise_rmm.client.api import ConnectWiseClient

__all__ = ["ConnectWiseClient"]
