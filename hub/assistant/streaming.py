"""Replies as streams of pieces: the model's text deltas, replies the hub writes itself (an approval
wait, a stop) cut into pieces of a few words, and the reply of a run nobody's request waits on (a
resume), published on the bus so the chat page showing the conversation streams it live.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterable, Awaitable, Callable, Iterator
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.agent import EventStreamHandler
from pydantic_ai.messages import AgentStreamEvent, PartDeltaEvent, PartStartEvent, TextPart, TextPartDelta

from hub.assistant.events import ASSISTANT_DELTA, ReplyDelta
from hub.core.context import HubContext

#: Roughly how many characters a streamed piece of a hub-written reply carries.
SEGMENT_CHARS = 24
_SEGMENT = re.compile(r"\S+\s*|\s+")

#: Receives each piece of a reply as it is produced (sync, or async when it publishes).
DeltaSink = Callable[[str], Awaitable[None] | None]


def segments(text: str, size: int = SEGMENT_CHARS) -> Iterator[str]:
    """``text`` in pieces of whole words, about ``size`` characters each (joined, they are ``text``)."""
    piece = ""
    for word in _SEGMENT.findall(text):
        piece += word
        if len(piece) >= size:
            yield piece
            piece = ""
    if piece:
        yield piece


async def _deliver(sink: DeltaSink, text: str) -> None:
    sent = sink(text)
    if inspect.isawaitable(sent):
        await sent


async def stream_written(text: str, sink: DeltaSink) -> None:
    """Send a reply the hub wrote itself (an approval wait, a stop) in pieces, as model text streams."""
    for piece in segments(text):
        await _deliver(sink, piece)


def forward_text(on_delta: DeltaSink) -> EventStreamHandler[Any]:
    """An event handler passing the model's text deltas on as they stream in."""

    async def handler(ctx: RunContext[Any], events: AsyncIterable[AgentStreamEvent]) -> None:
        async for event in events:
            if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart) and event.part.content:
                await _deliver(on_delta, event.part.content)
            elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                await _deliver(on_delta, event.delta.content_delta)

    return handler


class LiveReply:
    """The reply of a run nobody's request is waiting on (a resume): each piece is published on the bus,
    so the chat page showing the conversation streams it like a turn's own reply."""

    def __init__(self, hub: HubContext, org_id: int, conversation_id: int) -> None:
        self.hub, self.org_id, self.conversation_id = hub, org_id, conversation_id
        self.streamed = False

    async def send(self, text: str) -> None:
        """Publish one piece."""
        if not text:
            return
        self.streamed = True
        delta = ReplyDelta(conversation_id=self.conversation_id, text=text)
        await self.hub.bus.publish(ASSISTANT_DELTA.event(self.org_id, delta))

    async def written(self, text: str) -> None:
        """Publish a hub-written reply in pieces (when the model streamed nothing)."""
        if not self.streamed:
            await stream_written(text, self.send)
