"""FastAPI dependency for the policy gate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from hub.core.deps import HubDep
from policies.pipeline import Gate


def get_gate(hub: HubDep) -> Gate:
    """The process's policy gate (registered by ``hub.main``)."""
    gate: Gate = hub.services["gate"]
    return gate


GateDep = Annotated[Gate, Depends(get_gate)]
