"""ConnectWise RMM (Asio partner API) connector.

``client/`` is the HTTP client (auth, session, retry, pagination, rate limit, endpoint mixins; see
:class:`~connectors.connectwise_rmm.client.ConnectWiseClient`); the modules beside it are the integration
(connections, discovery, tools, routes, CLI). Import submodules directly; this package stays light.
"""
