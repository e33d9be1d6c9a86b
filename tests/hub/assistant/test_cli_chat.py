"""``rmmhub chat --json`` against a real hub on loopback with the built-in model (the default)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from hub.cli import main
from tests.conftest import LiveServer, Tenancy


def test_chat_json_shape_with_the_builtin_model(live_server: LiveServer, tenancy: Tenancy) -> None:
    runner = CliRunner()
    args = ["chat", "show me the open alerts", "--json", "--url", live_server.url, "--token", tenancy.operator.token]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    turn = json.loads(result.output)
    assert set(turn) == {"conversation_id", "reply", "tool_calls"}
    assert turn["tool_calls"] == [{"tool": "rmm-list-alerts", "args": {}, "status": "done", "approval_id": None}]
    again = runner.invoke(main, ["chat", "uninstall the agent from ldn-fs2", "--conversation", str(turn["conversation_id"]),
                                 "--json", "--url", live_server.url, "--token", tenancy.operator.token])  # fmt: skip
    follow = json.loads(again.output)
    assert follow["conversation_id"] == turn["conversation_id"]
    assert follow["tool_calls"] == [] and "can't" in follow["reply"]  # uninstall is never: not offered, said plainly


async def test_streamed_turn_sends_steps_then_text_deltas(client_for: object, tenancy: Tenancy) -> None:
    client = client_for(tenancy.operator)  # type: ignore[operator]
    conv = (await client.post("/api/v1/assistant/conversations", json={})).json()["id"]
    async with client.stream(
        "POST", f"/api/v1/assistant/conversations/{conv}/messages?stream=true", json={"text": "show me the open alerts"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("event: ") async for line in response.aiter_lines() if line.startswith("event: ")]
    assert events[0] == "step" and events[-1] == "done"
    assert events.count("delta") > 1  # the built-in model's reply arrives in pieces, as it is produced
    whole = (await client.get(f"/api/v1/assistant/conversations/{conv}")).json()
    assert [e["kind"] for e in whole["entries"]] == ["user", "tool", "assistant"]
