"""Which OAuth scopes a connection asks for, and what a tool needs (reference §1.2).

A token request may only name scopes the key was granted, so a connection first asks for the full set
the tools use (:data:`~connectors.connectwise_rmm.client.auth.DEFAULT_SCOPES`) and, when ConnectWise refuses a
*scope*, once more for the minimum the Rallied set-up guide tells admins to grant. The scopes the
token was minted with are stored on the connection; a tool whose scopes are missing says so clearly
instead of sending a request bound to fail.
"""

from __future__ import annotations

from collections.abc import Iterable

from connectors.connectwise_rmm.client.auth import DEFAULT_SCOPES
from connectors.connectwise_rmm.client.errors import ConnectWiseError

#: The seed's "select at minimum": Devices Read, Automation Read + Create, Companies Read, Agent Read, Assets Read.
MINIMAL_SCOPES: tuple[str, ...] = (
    "platform.companies.read",
    "platform.devices.read",
    "platform.automation.read",
    "platform.automation.create",
    "platform.agent.read",
    "platform.asset.read",
)

TICKETS_READ = "platform.tickets.read"
TICKETS_CREATE = "platform.tickets.create"

__all__ = ["DEFAULT_SCOPES", "MINIMAL_SCOPES", "TICKETS_CREATE", "TICKETS_READ", "missing_scopes", "scope_refused"]


def scope_refused(error: ConnectWiseError) -> bool:
    """Whether a refused token request blames the *scope* (OAuth ``invalid_scope``), not the credentials."""
    text = " ".join(part for part in (error.code, error.message, error.upstream_body) if part).lower()
    return "scope" in text


def missing_scopes(granted: Iterable[str], needed: Iterable[str]) -> list[str]:
    """Scopes in ``needed`` the connection was not granted (empty when ``granted`` is unknown/empty)."""
    have = set(granted)
    if not have:
        return []
    return [scope for scope in needed if scope not in have]
