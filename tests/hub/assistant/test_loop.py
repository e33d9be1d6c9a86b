"""The agent loop over the gate with a scripted FunctionModel: auto, approval pause/resume, never, retries."""

from __future__ import annotations

import json
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo
from sqlalchemy import select

from hub.assistant.models import AssistantEntry, StepStatus
from hub.assistant.store import create_conversation
from hub.core.audit import AuditEntry
from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from policies import approvals
from policies.pipeline import Gate
from tests.conftest import Tenancy
from tests.hub.assistant.conftest import DemoTools, caller_of, use_model
from tests.waiting import eventually

SEEN_TOOLS: list[list[str]] = []


def scripted(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Prompt ``call <tool> <json args>`` makes that call; a tool result is reported back as text."""
    SEEN_TOOLS.append([t.name for t in info.function_tools])
    last = messages[-1]
    assert isinstance(last, ModelRequest)
    for part in last.parts:
        if isinstance(part, ToolReturnPart):
            return ModelResponse(
                parts=[TextPart(f"{part.tool_name} -> {part.outcome}: {json.dumps(part.content, default=str)}")]
            )
        if getattr(part, "part_kind", "") == "retry-prompt":
            return ModelResponse(parts=[TextPart("retried")])
        if isinstance(part, UserPromptPart) and isinstance(part.content, str):
            text = part.content
            if text.startswith("call "):
                _, name, args = text.split(" ", 2)
                return ModelResponse(parts=[ToolCallPart(name, json.loads(args), tool_call_id=f"c{len(messages)}")])
            return ModelResponse(parts=[TextPart(f"you said {text}")])
    return ModelResponse(parts=[TextPart("ok")])


async def _new(hub: HubContext, caller: Caller) -> int:
    async with hub.db.transaction() as session:
        return (await create_conversation(session, caller)).id


async def _entries(hub: HubContext, conv: int) -> list[AssistantEntry]:
    async with hub.db.transaction() as session:
        stmt = select(AssistantEntry).where(AssistantEntry.conversation_id == conv).order_by(AssistantEntry.id)
        return list((await session.execute(stmt)).scalars())


async def test_auto_tool_runs_through_the_gate_on_behalf_of_the_user(
    hub: HubContext, tenancy: Tenancy, demo_tools: DemoTools
) -> None:
    assistant = use_model(hub, scripted)
    caller = await caller_of(hub, tenancy.operator.id)
    conv = await _new(hub, caller)
    turn = await assistant.send(caller, conv, 'call get-device-info {"device": "pc-1"}')
    assert demo_tools.ran("get-device-info") == [{"device": "pc-1"}]
    assert [s.status for s in turn.steps] == [StepStatus.DONE]
    assert "get-device-info -> success" in turn.reply
    async with hub.db.transaction() as session:
        rows = (
            (await session.execute(select(AuditEntry).where(AuditEntry.tool_id == "testsrc:get-device-info")))
            .scalars()
            .all()
        )
    assert rows and all(r.via == "assistant" and r.actor_label == "olga" for r in rows)


async def test_never_tools_are_hidden_and_refused_when_forged(
    hub: HubContext, tenancy: Tenancy, demo_tools: DemoTools
) -> None:
    assistant = use_model(hub, scripted)
    caller = await caller_of(hub, tenancy.operator.id)
    conv = await _new(hub, caller)
    SEEN_TOOLS.clear()
    turn = await assistant.send(caller, conv, 'call wipe-device {"device": "pc-1"}')
    assert all("wipe-device" not in names and "get-device-info" in names for names in SEEN_TOOLS)
    assert demo_tools.ran("wipe-device") == []
    assert "wipe-device -> retried" in turn.reply and "Unknown tool name" in turn.reply


async def test_schema_invalid_arguments_are_retried_not_executed(
    hub: HubContext, tenancy: Tenancy, demo_tools: DemoTools
) -> None:
    assistant = use_model(hub, scripted)
    caller = await caller_of(hub, tenancy.operator.id)
    conv = await _new(hub, caller)
    turn = await assistant.send(caller, conv, 'call get-device-info {"device": "pc-1", "count": "lots"}')
    assert demo_tools.ran("get-device-info") == []
    assert "retried" in turn.reply and "$.count" in turn.reply


async def _approve(hub: HubContext, approver: Caller, approval_id: int, *, deny: bool = False, note: str = "") -> None:
    gate = hub.components.get(Gate)
    async with hub.db.transaction() as session:
        decide = approvals.deny if deny else approvals.approve
        await decide(session, gate, approver=approver, approval_id=approval_id, note=note)


def _approver(tenancy: Tenancy) -> Caller:
    return Caller(
        user_id=tenancy.approver.id, label="bob", role=tenancy.approver.role, org_id=tenancy.org_id, kind=CallerKind.UI
    )


async def test_approval_pauses_chat_continues_and_approve_resumes_once(
    hub: HubContext, tenancy: Tenancy, demo_tools: DemoTools
) -> None:
    assistant = use_model(hub, scripted)
    caller = await caller_of(hub, tenancy.operator.id)
    conv = await _new(hub, caller)
    turn = await assistant.send(caller, conv, 'call restart-service {"device": "pc-9", "count": 2}')
    (step,) = turn.steps
    assert step.status is StepStatus.PENDING_APPROVAL and step.approval_id
    assert f"waiting for approval #{step.approval_id}" in turn.reply and "restart-service" in turn.reply
    assert demo_tools.ran("restart-service") == []
    chat = await assistant.send(caller, conv, "anything new?")  # the chat is not blocked by the pending call
    assert chat.reply == "you said anything new?"
    await _approve(hub, _approver(tenancy), step.approval_id)

    async def resumed() -> list[AssistantEntry]:
        entries = await _entries(hub, conv)
        done = any(e.kind == "assistant" and "restart-service -> success" in e.text for e in entries)
        return entries if done else []

    entries = await eventually(resumed, message="the run to resume after the approval")
    assert demo_tools.ran("restart-service") == [{"device": "pc-9", "count": 2}]  # exactly the args, once
    tool = [e for e in entries if e.tool == "restart-service"]
    assert [e.status for e in tool] == [StepStatus.DONE]
    follow = await assistant.send(caller, conv, "thanks")
    assert follow.reply == "you said thanks"
    assert demo_tools.ran("restart-service") == [{"device": "pc-9", "count": 2}]


async def test_deny_resumes_with_the_denial_and_its_note(
    hub: HubContext, tenancy: Tenancy, demo_tools: DemoTools
) -> None:
    assistant = use_model(hub, scripted)
    caller = await caller_of(hub, tenancy.operator.id)
    conv = await _new(hub, caller)
    turn = await assistant.send(caller, conv, 'call restart-service {"device": "pc-9"}')
    approval_id = turn.steps[0].approval_id
    assert approval_id
    await _approve(hub, _approver(tenancy), approval_id, deny=True, note="needs a change window")

    async def denied() -> Any:
        entries = await _entries(hub, conv)
        return any(e.kind == "assistant" and "denied" in e.text and "needs a change window" in e.text for e in entries)

    await eventually(denied, message="the run to resume with the denial")
    entries = await _entries(hub, conv)
    assert [e.status for e in entries if e.tool == "restart-service"] == [StepStatus.DENIED]
    assert demo_tools.ran("restart-service") == []
