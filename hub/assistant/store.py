"""Conversations on the server: load for the owner (or an admin, read-only), history in and out, entries.

The history the model sees is always *closed*: a run that paused on approvals is stored twice, as it
is (``PausedRun.messages``, what the resume continues) and with each waiting call answered by a
"waiting for approval #id" note (``Conversation.messages``), so the user can keep chatting meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_ai import ModelMessagesTypeAdapter
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.assistant.calls import Step
from hub.assistant.models import AssistantEntry, Conversation, EntryKind
from hub.core.caller import Caller
from hub.core.db import utcnow
from hub.core.errors import NotFound, PermissionDenied
from hub.core.jsonutil import clip
from hub.core.roles import Role

TITLE_LENGTH = 80
LIST_LIMIT = 100


def load_history(data: list[Any]) -> list[ModelMessage]:
    """The stored history as pydantic-ai messages (only ever data the server wrote)."""
    return list(ModelMessagesTypeAdapter.validate_python(data)) if data else []


def dump_history(messages: Sequence[ModelMessage]) -> list[Any]:
    """Messages as JSON data for the database."""
    dumped: list[Any] = ModelMessagesTypeAdapter.dump_python(list(messages), mode="json")
    return dumped


def close_history(messages: Sequence[ModelMessage], notes: dict[str, str], reply: str) -> list[ModelMessage]:
    """``messages`` with every call still unanswered in its last response answered by its note, then ``reply``."""
    closed = list(messages)
    last = closed[-1] if closed else None
    if isinstance(last, ModelResponse):
        parts = [
            ToolReturnPart(
                tool_name=p.tool_name, content=notes.get(p.tool_call_id, "not run"), tool_call_id=p.tool_call_id
            )
            for p in last.parts
            if isinstance(p, ToolCallPart)
        ]
        if parts:
            closed.append(ModelRequest(parts=parts))
    closed.append(ModelResponse(parts=[TextPart(content=reply)]))
    return closed


async def conversation_for(session: AsyncSession, caller: Caller, conversation_id: int, *, write: bool) -> Conversation:
    """A conversation the caller may see: their own, or any of the organisation for an admin (read only).

    Raises:
        NotFound: no such conversation in the caller's organisation (also for another user's, to a non-admin).
        PermissionDenied: an admin writing into another user's conversation.
    """
    conv = await session.get(Conversation, conversation_id)
    owner = caller.on_behalf_of_user_id or caller.user_id
    if conv is None or conv.org_id != caller.org_id or (conv.user_id != owner and not caller.can(Role.ADMIN)):
        raise NotFound(f"conversation #{conversation_id} does not exist")
    if write and conv.user_id != owner:
        raise PermissionDenied(f"conversation #{conversation_id} belongs to another user; admins may only read it")
    return conv


async def create_conversation(session: AsyncSession, caller: Caller, title: str = "") -> Conversation:
    """A new, empty conversation of the caller."""
    owner = caller.on_behalf_of_user_id or caller.user_id
    if owner is None:
        raise PermissionDenied("the assistant talks to signed-in users only")
    conv = Conversation(org_id=caller.org_id, user_id=owner, title=clip(title, TITLE_LENGTH), messages=[], memory={})
    session.add(conv)
    await session.flush()
    return conv


async def list_conversations(
    session: AsyncSession, caller: Caller, *, everyone: bool = False
) -> Sequence[Conversation]:
    """The caller's conversations, newest first (an admin may ask for the whole organisation's)."""
    stmt = select(Conversation).where(Conversation.org_id == caller.org_id)
    if not (everyone and caller.can(Role.ADMIN)):
        stmt = stmt.where(Conversation.user_id == (caller.on_behalf_of_user_id or caller.user_id))
    return (await session.execute(stmt.order_by(Conversation.updated_at.desc()).limit(LIST_LIMIT))).scalars().all()


async def entries_of(session: AsyncSession, conversation_id: int) -> Sequence[AssistantEntry]:
    """A conversation's entries in order."""
    stmt = select(AssistantEntry).where(AssistantEntry.conversation_id == conversation_id).order_by(AssistantEntry.id)
    return (await session.execute(stmt)).scalars().all()


def add_text(session: AsyncSession, conversation_id: int, kind: EntryKind, text: str, *, plan: bool = False) -> None:
    """A prompt or a reply."""
    session.add(AssistantEntry(conversation_id=conversation_id, kind=kind, text=text, plan=plan))


async def record_steps(session: AsyncSession, conversation_id: int, steps: Sequence[Step]) -> None:
    """Tool-call entries: a step of an already recorded call (a resumed approval) updates that entry."""
    for step in steps:
        found = None
        if step.tool_call_id:
            stmt = select(AssistantEntry).where(
                AssistantEntry.conversation_id == conversation_id, AssistantEntry.tool_call_id == step.tool_call_id
            )
            found = (await session.execute(stmt)).scalars().first()
        if found is not None:
            found.status, found.text, found.result, found.updated_at = step.status, step.message, step.result, utcnow()
            continue
        session.add(
            AssistantEntry(
                conversation_id=conversation_id, kind=EntryKind.TOOL, text=step.message, plan=step.plan,
                tool_call_id=step.tool_call_id or None, tool=step.tool, args=step.args, policy=step.policy,
                status=step.status, approval_id=step.approval_id, result=step.result,
            )
        )  # fmt: skip
    await session.flush()
