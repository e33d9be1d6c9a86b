"""Replies stream in pieces: the model's text, the replies the hub writes itself (an approval wait), and
the reply of a run that resumed after an approval (published on the bus for the chat page)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from sqlalchemy import select

from hub.assistant.events import ASSISTANT_DELTA, ASSISTANT_UPDATED
from hub.assistant.models import AssistantEntry, EntryKind
from hub.assistant.streaming import segments
from hub.core.context import HubContext
from tests.conftest import Tenancy
from tests.hub.assistant.conftest import DemoTools, use_model
from tests.hub.assistant.test_loop import scripted


def test_segments_are_whole_words_that_join_back_into_the_text() -> None:
    text = "waiting for approval #12: Run the script 'Restart print spooler' on PRN-WS-01 (Acme / HQ) as SYSTEM."
    pieces = list(segments(text))
    assert len(pieces) > 3 and "".join(pieces) == text
    assert all(p == pieces[-1] or p.endswith(" ") for p in pieces)  # cut between words, never inside one
    assert list(segments("ok")) == ["ok"] and list(segments("")) == []


async def _events(response: httpx.Response) -> list[tuple[str, Any]]:
    events, name = [], ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


async def test_an_approval_wait_streams_in_pieces_and_the_resumed_reply_streams_over_the_bus(
    hub: HubContext, tenancy: Tenancy, demo_tools: DemoTools, client_for: Any
) -> None:
    use_model(hub, scripted)
    client = client_for(tenancy.operator)
    conv = (await client.post("/api/v1/assistant/conversations", json={})).json()["id"]
    ask = {"text": 'call restart-service {"device": "pc-9", "count": 2}'}
    async with client.stream("POST", f"/api/v1/assistant/conversations/{conv}/messages?stream=true", json=ask) as r:
        events = await _events(r)
    names = [n for n, _ in events]
    assert names[0] == "step" and names[-1] == "done"
    deltas = [d["text"] for n, d in events if n == "delta"]
    turn = events[-1][1]
    assert len(deltas) > 1, deltas  # the hub-written wait arrives in pieces like model text
    assert "".join(deltas) == turn["reply"] and "waiting for approval #" in turn["reply"]
    approval_id = turn["tool_calls"][0]["approval_id"]

    pieces: list[str] = []
    async with hub.bus.subscribe("assistant.") as live:
        decided = await client_for(tenancy.approver).post(f"/api/v1/approvals/{approval_id}/approve", json={})
        assert decided.json()["status"] == "executed", decided.text
        async with asyncio.timeout(20):
            async for event in live:
                delta = ASSISTANT_DELTA.parse(event)
                if delta is not None and delta.conversation_id == conv:
                    pieces.append(delta.text)
                updated = ASSISTANT_UPDATED.parse(event)
                if updated is not None and updated.conversation_id == conv and pieces:
                    break

    async with hub.db.transaction() as session:
        stmt = select(AssistantEntry).where(
            AssistantEntry.conversation_id == conv, AssistantEntry.kind == EntryKind.ASSISTANT
        )
        final = [e.text for e in (await session.execute(stmt.order_by(AssistantEntry.id))).scalars()][-1]
    assert len(pieces) > 1, pieces  # the resumed run's reply reached the page's stream in pieces
    assert "".join(pieces).strip() == final.strip() and "restart-service -> success" in final
    assert demo_tools.ran("restart-service") == [{"device": "pc-9", "count": 2}]
