"""The native RMM's bus topics and the models of their data (the contract between publishers and subscribers).

``command.queued`` reaches the push dispatcher (deliver over the agent's WebSocket) and every
replica's check-in cache; ``command.updated`` reaches the device page's live command output (over the
UI's event stream). ``device.*`` keeps every replica's check-in cache and push registry in step;
``script.changed`` re-syncs an organisation's script tools; ``alert.*`` and ``ticket.*`` announce
changes to whoever listens.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from agent.protocol import CommandSpec, CommandStatus
from hub.core.events import Topic
from native_rmm.models.devices import DeviceStatus


class CommandChanged(BaseModel):
    """A command's new state."""

    command_id: int
    device_id: int
    status: CommandStatus


class CommandQueued(CommandChanged):
    """A command was queued: the spec the agent receives, pushed at once when the agent is connected."""

    uid: str
    spec: CommandSpec


COMMAND_QUEUED = Topic("command.queued", CommandQueued)
COMMAND_UPDATED = Topic("command.updated", CommandChanged)


class DeviceStatusChanged(BaseModel):
    """A device's status moved from ``old`` to ``new``."""

    device_id: int
    old: DeviceStatus
    new: DeviceStatus


class DeviceConnected(BaseModel):
    """A device opened its push WebSocket (``connection_id`` tells the replicas which socket is current)."""

    device_id: int
    connection_id: str


class CredentialsChanged(BaseModel):
    """A device's credentials were rotated, or (``revoked``) all revoked: its socket must close."""

    device_id: int
    revoked: bool = False


class ScriptsChanged(BaseModel):
    """An organisation's scripts changed: its ``rmm-script-*`` tools are re-synced on every replica."""

    org_id: int


class AlertChanged(BaseModel):
    """An alert was raised, changed, acknowledged or resolved (the flags say how)."""

    alert_id: int
    device_id: int | None
    monitor_id: int | None
    source: str
    metric: str | None
    severity: str
    status: str
    message: str
    escalated: bool | None = None
    deescalated: bool | None = None
    auto: bool | None = None
    by: str | None = None


class TicketChanged(BaseModel):
    """A ticket was created, updated or commented on."""

    ticket_id: int


DEVICE_STATUS_CHANGED = Topic("device.status_changed", DeviceStatusChanged)
DEVICE_CONNECTED = Topic("device.ws_connected", DeviceConnected)
CREDENTIALS_CHANGED = Topic("device.credentials_changed", CredentialsChanged)
SCRIPTS_CHANGED = Topic("script.changed", ScriptsChanged)
AlertTopic = Literal["raised", "changed", "acknowledged", "resolved"]
ALERT_TOPICS: dict[str, Topic[AlertChanged]] = {
    kind: Topic(f"alert.{kind}", AlertChanged) for kind in ("raised", "changed", "acknowledged", "resolved")
}
TicketTopic = Literal["created", "updated", "commented"]
TICKET_TOPICS: dict[str, Topic[TicketChanged]] = {
    kind: Topic(f"ticket.{kind}", TicketChanged) for kind in ("created", "updated", "commented")
}
