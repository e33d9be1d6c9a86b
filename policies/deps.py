"""FastAPI dependency for the policy gate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from hub.core.deps import HubDep
from policies.pipeline import Gate


def get_gate(hub: HubDep) -> Gate:
    """The process's policy gate (built by ``hub.main``)."""
    return hub.components.get(Gate)


GateDep = Annotated[Gate, Depends(get_gate)]
