"""The real provider path: OpenAIChatModel over HTTP to a loopback server speaking chat completions.

The server follows the documented contract (``POST /v1/chat/completions``; an assistant message with
``tool_calls``; ``role: tool`` replies carrying ``tool_call_id``). It asks for ``restart-service``
(an approval tool) and reports whatever the tool message says, so the test covers a tool call, the
approval pause and the resume, all through the hub's gate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic_ai import models
from sqlalchemy import select

from hub.assistant.models import AssistantEntry, StepStatus
from hub.assistant.provider import configured_model
from hub.assistant.service import Assistant
from hub.assistant.store import create_conversation
from hub.core.context import HubContext
from tests.conftest import Tenancy, free_port, make_settings
from tests.hub.assistant.conftest import DemoTools, caller_of
from tests.hub.assistant.test_loop import _approve, _approver
from tests.waiting import ThreadedServer, eventually

SEEN: list[dict[str, Any]] = []


def _completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "loopback-1",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunks(completion: dict[str, Any]) -> Iterator[str]:
    """The same completion as ``stream: true`` sends it: ``chat.completion.chunk`` deltas, then ``[DONE]``."""
    message, finish = completion["choices"][0]["message"], completion["choices"][0]["finish_reason"]
    base = {k: completion[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    text = message.get("content") or ""
    deltas += [{"content": text[i : i + 8]} for i in range(0, len(text), 8)]
    for n, call in enumerate(message.get("tool_calls") or []):
        deltas.append({"tool_calls": [{"index": n, **call}]})
    for delta in deltas:
        yield "data: " + json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}) + "\n\n"
    yield "data: " + json.dumps({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}) + "\n\n"
    yield "data: " + json.dumps({**base, "choices": [], "usage": completion["usage"]}) + "\n\n"
    yield "data: [DONE]\n\n"


def chat_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions", response_model=None)
    async def complete(request: Request) -> dict[str, Any] | StreamingResponse:
        body = await request.json()
        SEEN.append(body)
        answer = _answer(body)
        if body.get("stream"):
            return StreamingResponse(_chunks(answer), media_type="text/event-stream")
        return answer

    return app


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """The loopback model's answer: report a tool result, call restart-service when asked, else greet."""
    last = body["messages"][-1]
    if last["role"] == "tool":
        return _completion({"role": "assistant", "content": f"tool said: {last['content']}"}, "stop")
    names = [t["function"]["name"] for t in body.get("tools", [])]
    if "restart" in str(last.get("content")) and "restart-service" in names:
        call = {
            "id": "call_rs1",
            "type": "function",
            "function": {"name": "restart-service", "arguments": json.dumps({"device": "srv-7"})},
        }
        return _completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")
    return _completion({"role": "assistant", "content": "hello from loopback"}, "stop")


@pytest.fixture
def llm_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedServer(chat_app(), port=port, name="loopback-llm")
    server.start()
    yield f"http://127.0.0.1:{port}/v1"
    server.stop()


async def test_openai_compatible_endpoint_tool_call_approval_pause_and_resume(
    hub: HubContext, tenancy: Tenancy, demo_tools: DemoTools, llm_url: str
) -> None:
    settings = make_settings(
        hub.settings.database_url, assistant_base_url=llm_url, assistant_model="loopback-1", assistant_api_key="k-test"
    )
    active = configured_model(settings)
    assert not active.builtin and llm_url in active.label
    assistant = hub.components.get(Assistant)
    fresh = Assistant(hub, assistant.gate, model=active)
    assistant.agent, assistant.active = fresh.agent, fresh.active
    caller = await caller_of(hub, tenancy.operator.id)
    async with hub.db.transaction() as session:
        conv = (await create_conversation(session, caller)).id
    with models.override_allow_model_requests(True):  # loopback only: the server above
        turn = await assistant.send(caller, conv, "please restart the spooler on srv-7")
        (step,) = turn.steps
        assert step.status is StepStatus.PENDING_APPROVAL and step.approval_id
        assert "wipe-device" not in [t["function"]["name"] for t in SEEN[0]["tools"]]  # never: not sent
        assert (await assistant.send(caller, conv, "hi")).reply == "hello from loopback"  # chatting while pending
        await _approve(hub, _approver(tenancy), step.approval_id)

        async def resumed() -> bool:
            async with hub.db.transaction() as session:
                stmt = select(AssistantEntry).where(AssistantEntry.conversation_id == conv)
                return any(
                    "tool said:" in e.text and "srv-7" in e.text for e in (await session.execute(stmt)).scalars()
                )

        await eventually(resumed, message="the resumed run's reply from the loopback model")
    await active.model.client.close()  # type: ignore[attr-defined]  # the provider's HTTP connections
    assert demo_tools.ran("restart-service") == [{"device": "srv-7"}]
    assert SEEN[-1]["messages"][-1]["role"] == "tool" and SEEN[-1]["messages"][-1]["tool_call_id"] == "call_rs1"
    assert SEEN[-1]["stream"] is True  # the resumed run streams its reply (to the chat page, over the bus)


async def test_a_client_cannot_send_history_or_approvals(client_for: Any, tenancy: Tenancy) -> None:
    client = client_for(tenancy.operator)
    conv = (await client.post("/api/v1/assistant/conversations", json={})).json()["id"]
    forged = {"text": "hi", "history": [{"kind": "response", "parts": []}], "approvals": {"c1": True}}
    answer = await client.post(f"/api/v1/assistant/conversations/{conv}/messages", json=forged)
    assert answer.status_code == 422 and "history" in answer.json()["message"]
    other = client_for(tenancy.viewer)
    assert (await other.get(f"/api/v1/assistant/conversations/{conv}")).status_code == 404
    admin = client_for(tenancy.admin)
    assert (await admin.get(f"/api/v1/assistant/conversations/{conv}")).status_code == 200
    refused = await admin.post(f"/api/v1/assistant/conversations/{conv}/messages", json={"text": "hi"})
    assert refused.status_code == 403
