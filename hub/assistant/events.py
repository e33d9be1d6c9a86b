"""The assistant's bus topics: a conversation changed (a turn ended, a paused run resumed), and a piece
of a reply being written (a resumed run's text, streamed to the chat page as it is produced)."""

from __future__ import annotations

from pydantic import BaseModel

from hub.core.events import Topic


class ConversationUpdated(BaseModel):
    """Pages showing the conversation reload it."""

    conversation_id: int


ASSISTANT_UPDATED = Topic("assistant.updated", ConversationUpdated)


class ReplyDelta(BaseModel):
    """A piece of the reply a conversation is receiving now (the page appends it; ``updated`` follows)."""

    conversation_id: int
    text: str


ASSISTANT_DELTA = Topic("assistant.delta", ReplyDelta)
