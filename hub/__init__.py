"""rmmhub: a self-hosted, policy-gated hub for managed-service providers."""

__version__ = "0.1.0"
