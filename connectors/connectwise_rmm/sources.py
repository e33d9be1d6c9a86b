"""What the connector's tools need from the connection manager: a client per organisation, its granted
scopes and the script-run settings. Tools depend on this protocol, not on :mod:`.manager` (which builds
the tools), so the two never import each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.settings import ConnectWiseSettings
from hub.core.registry import ToolContext


class ClientSource(Protocol):
    """Where a tool gets the ConnectWise client of the caller's organisation."""

    @property
    def settings(self) -> ConnectWiseSettings:
        """Script wait bounds and polling interval."""
        ...

    def client_for(self, org_id: int) -> ConnectWiseClient:
        """The organisation's client (raises a ToolError when it has no usable connection)."""
        ...

    def granted_scopes(self, org_id: int) -> tuple[str, ...]:
        """The API scopes the organisation's key was granted."""
        ...


@dataclass(frozen=True)
class ToolCall:
    """What every ConnectWise tool handler gets besides its arguments (one signature: ``(call, args)``)."""

    cw: ConnectWiseClient
    settings: ConnectWiseSettings
    ctx: ToolContext

    @classmethod
    def of(cls, source: ClientSource, ctx: ToolContext) -> ToolCall:
        """The call of ``ctx``'s organisation (raises a ToolError when it has no usable connection)."""
        return cls(cw=source.client_for(ctx.org_id), settings=source.settings, ctx=ctx)

    def script_wait(self, requested: float | None) -> float:
        """How long to wait for a script's results: ``requested`` (or the default) within the bounds."""
        wait = self.settings.script_wait_seconds if requested is None else float(requested)
        return max(0.0, min(wait, self.settings.max_script_wait_seconds))

    @property
    def requested_by(self) -> str:
        """The task description ConnectWise shows: who asked, through which approval."""
        approval = f" (approval #{self.ctx.approval_id})" if self.ctx.approval_id else ""
        return f"requested by {self.ctx.caller.label} via rmmhub{approval}"
