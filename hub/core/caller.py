"""Who is asking: the identity every tool invocation carries through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.core.audit import Actor
from hub.core.roles import Role


class CallerKind(StrEnum):
    """The door a request came through (shown in approvals and the audit log)."""

    UI = "ui"
    API = "api"
    ASSISTANT = "assistant"
    MCP = "mcp"
    AUTOMATION = "automation"
    SYSTEM = "system"


@dataclass(frozen=True)
class Caller:
    """An authenticated principal acting in one organisation.

    Identity and tenant always come from here (authentication), never from tool arguments.
    ``on_behalf_of_user_id`` is set when the assistant or an automation acts for a person.
    """

    user_id: int | None
    label: str
    role: Role
    org_id: int
    kind: CallerKind
    on_behalf_of_user_id: int | None = None
    #: The client program behind the door, when it names itself (an MCP client's ``clientInfo.name``).
    client: str = ""

    @property
    def via(self) -> str:
        """The door as the audit log shows it, e.g. ``mcp (Claude Desktop)`` (the log keeps 32 characters)."""
        if not self.client:
            return self.kind.value
        room = 32 - len(self.kind.value) - 3
        name = self.client if len(self.client) <= room else self.client[: room - 1] + "…"
        return f"{self.kind.value} ({name})"

    @property
    def actor(self) -> Actor:
        """The audit-log view of this caller."""
        return Actor(user_id=self.user_id, label=self.label, via=self.via)

    def can(self, role: Role) -> bool:
        """Whether this caller holds at least ``role``."""
        return self.role.at_least(role)
