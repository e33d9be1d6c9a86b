"""The assistant's bus topic: a conversation changed (a turn ended, a paused run resumed)."""

from __future__ import annotations

from pydantic import BaseModel

from hub.core.events import Topic


class ConversationUpdated(BaseModel):
    """Pages showing the conversation reload it."""

    conversation_id: int


ASSISTANT_UPDATED = Topic("assistant.updated", ConversationUpdated)
