"""Synthetic monitors: HTTP, ping and TLS probes run by the hub, raising alerts on repeated failure."""
