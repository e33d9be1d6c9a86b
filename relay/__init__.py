"""WebSocket relay pairing an endpoint agent with browser viewers (remote shell and screen)."""
