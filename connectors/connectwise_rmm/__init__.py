"""ConnectWise RMM (Asio partner API) connector.

The client layer lives here; see :class:`~connectors.connectwise_rmm.client.ConnectWiseClient`.
Import submodules directly (``connectors.connectwise_rmm.client``); this package stays light.
"""
