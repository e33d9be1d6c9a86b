"""rmmhub endpoint agent: enrolls with the hub, checks in, runs commands (see ``agent.protocol``)."""

__version__ = "0.1.0"
