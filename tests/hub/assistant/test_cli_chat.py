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
