"""The native RMM's bus topics and the models of their data (the contract between publishers and subscribers).

``command.queued`` reaches the push dispatcher (deliver over the agent's WebSocket) and every
replica's check-in cache; ``command.updated`` reaches the device page's live command output (over the
UI's event stream).
"""

from __future__ import annotations

from pydantic import BaseModel

from agent.protocol import CommandSpec, CommandStatus
from hub.core.events import Topic


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
