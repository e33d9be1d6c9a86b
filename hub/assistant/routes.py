"""REST API of the assistant: conversations, messages (streamed as SSE or answered whole), plans.

The client sends only its new text (and whether it is a plan); history and approval answers never
come from it. ``stream=true`` answers ``text/event-stream``: one ``step`` event per tool call, the
reply in ``delta`` chunks (the model's as it streams; a reply the hub wrote, such as an approval wait, in
pieces of a few words), then ``done`` with the whole turn.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse

from hub.assistant.calls import Step
from hub.assistant.models import AssistantEntry, Conversation
from hub.assistant.service import Assistant, TurnResult, assistant_caller
from hub.assistant.store import conversation_for, create_conversation, entries_of, list_conversations
from hub.assistant.streaming import segments
from hub.core.bounds import Id
from hub.core.caller import Caller
from hub.core.deps import HubDep, PrincipalDep, SessionDep
from hub.core.errors import RmmHubError

router = APIRouter(prefix="/api/v1/assistant", tags=["assistant"])


def get_assistant(hub: HubDep) -> Assistant:
    """The process's assistant."""
    return hub.components.get(Assistant)


AssistantDep = Annotated[Assistant, Depends(get_assistant)]


def chat_caller(principal: PrincipalDep) -> Caller:
    """The signed-in user as the assistant acting for them."""
    return assistant_caller(principal.user)


ChatCallerDep = Annotated[Caller, Depends(chat_caller)]


class NewConversation(BaseModel):
    """A new conversation (the title is optional; the first message names it otherwise)."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=200)


class NewMessage(BaseModel):
    """The user's new text: nothing else (no history, no approvals) is accepted from a client."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)
    plan: bool = Field(default=False, description="propose the tool calls, execute nothing")


class ToolCallOut(BaseModel):
    """One tool call of a turn, by its LLM-facing name."""

    tool: str
    args: dict[str, Any]
    status: str
    approval_id: int | None = None
    policy: str | None = None
    message: str = ""
    result: Any = None


class TurnOut(BaseModel):
    """A turn's answer (the ``rmmhub chat --json`` shape)."""

    conversation_id: int
    reply: str
    tool_calls: list[ToolCallOut]


class EntryOut(BaseModel):
    """An entry of a conversation."""

    id: int
    kind: str
    text: str
    plan: bool
    tool: str | None = None
    args: dict[str, Any] | None = None
    policy: str | None = None
    status: str | None = None
    approval_id: int | None = None
    result: Any = None


class ConversationOut(BaseModel):
    """A conversation with its entries (the model's raw history is not published)."""

    id: int
    title: str
    user_id: int
    model: str
    updated_at: datetime
    entries: list[EntryOut] = Field(default_factory=list)


def _step_out(step: Step) -> ToolCallOut:
    return ToolCallOut(
        tool=step.tool,
        args=step.args,
        status=step.status.value,
        approval_id=step.approval_id,
        policy=step.policy,
        message=step.message,
        result=step.result,
    )


def turn_out(turn: TurnResult) -> TurnOut:
    """The wire shape of a turn."""
    return TurnOut(
        conversation_id=turn.conversation_id, reply=turn.reply, tool_calls=[_step_out(s) for s in turn.steps]
    )


def _entry_out(entry: AssistantEntry) -> EntryOut:
    return EntryOut(
        id=entry.id,
        kind=entry.kind.value,
        text=entry.text,
        plan=entry.plan,
        tool=entry.tool,
        args=entry.args,
        policy=entry.policy,
        status=entry.status.value if entry.status else None,
        approval_id=entry.approval_id,
        result=entry.result,
    )


def conversation_out(conv: Conversation, entries: list[AssistantEntry], model: str) -> ConversationOut:
    """The wire shape of a conversation."""
    return ConversationOut(
        id=conv.id,
        title=conv.title,
        user_id=conv.user_id,
        model=model,
        updated_at=conv.updated_at,
        entries=[_entry_out(e) for e in entries],
    )


@router.post("/conversations", status_code=201)
async def new_conversation(
    body: NewConversation, session: SessionDep, caller: ChatCallerDep, assistant: AssistantDep
) -> ConversationOut:
    """Start a conversation."""
    conv = await create_conversation(session, caller, body.title)
    return conversation_out(conv, [], assistant.active.label)


@router.get("/conversations")
async def conversations(
    session: SessionDep, caller: ChatCallerDep, assistant: AssistantDep, everyone: bool = False
) -> list[ConversationOut]:
    """Your conversations, newest first (``everyone=true``: the organisation's, admins only)."""
    rows = await list_conversations(session, caller, everyone=everyone)
    return [conversation_out(c, [], assistant.active.label) for c in rows]


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: Id, session: SessionDep, caller: ChatCallerDep, assistant: AssistantDep
) -> ConversationOut:
    """One conversation with its entries (yours; admins may read anyone's)."""
    conv = await conversation_for(session, caller, conversation_id, write=False)
    return conversation_out(conv, list(await entries_of(session, conv.id)), assistant.active.label)


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _stream(assistant: Assistant, caller: Caller, conversation_id: Id, body: NewMessage) -> AsyncIterator[str]:
    live: asyncio.Queue[Step | str] = asyncio.Queue()
    task = asyncio.ensure_future(
        assistant.send(
            caller, conversation_id, body.text, plan=body.plan, on_step=live.put_nowait, on_delta=live.put_nowait
        )
    )
    streamed = False
    try:
        while not task.done() or not live.empty():
            getter = asyncio.ensure_future(live.get())
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                continue
            item = getter.result()
            if isinstance(item, Step):
                yield _sse("step", _step_out(item).model_dump(mode="json"))
            else:
                streamed = True
                yield _sse("delta", {"text": item})
        turn = task.result()
    except RmmHubError as exc:
        yield _sse("error", {"message": exc.message})
        return
    finally:
        if not task.done():
            task.cancel()
    if not streamed:  # a turn that ended on an approval or a limit: the hub wrote its reply; stream it the same way
        for piece in segments(turn.reply):
            yield _sse("delta", {"text": piece})
    yield _sse("done", turn_out(turn).model_dump(mode="json"))


STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the turn (``stream=true``: ``text/event-stream`` of step, delta and done events)",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.post("/conversations/{conversation_id}/messages", response_model=TurnOut, responses=STREAM_DOC)
async def send_message(
    conversation_id: Id,
    body: NewMessage,
    caller: ChatCallerDep,
    assistant: AssistantDep,
    stream: Annotated[bool, Query(description="answer text/event-stream")] = False,
) -> Any:
    """Send your text; the assistant runs its turn through the gate (``stream=true`` for SSE)."""
    if stream:
        async with assistant.hub.db.transaction() as session:
            await conversation_for(session, caller, conversation_id, write=True)  # a 404 before the stream opens
        return StreamingResponse(
            _stream(assistant, caller, conversation_id, body),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )
    return turn_out(await assistant.send(caller, conversation_id, body.text, plan=body.plan))


@router.post("/conversations/{conversation_id}/plan/run")
async def run_plan(conversation_id: Id, caller: ChatCallerDep, assistant: AssistantDep) -> TurnOut:
    """Send every step of the conversation's plan through the gate."""
    return turn_out(await assistant.run_plan(caller, conversation_id))
