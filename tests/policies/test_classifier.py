"""The default-policy classifier: annotations and verb analysis, failing closed."""

from __future__ import annotations

from typing import Any

import pytest

from hub.core.registry import Tool, ToolAnnotations, ToolContext
from policies.classifier import classify
from policies.models import PolicyMode


async def _noop(ctx: ToolContext, args: dict[str, Any]) -> None:
    return None


def _tool(name: str, description: str = "Does something.", **ann: bool) -> Tool:
    return Tool("src", name, description, {"type": "object"}, _noop, ToolAnnotations(**ann), result_type=None)


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("cw-rmm-list-companies", PolicyMode.AUTO),
        ("rmm-get-device", PolicyMode.AUTO),
        ("cw-rmm-get-tasks-summary", PolicyMode.AUTO),
        ("search-tickets", PolicyMode.AUTO),
        ("cw-rmm-run-task", PolicyMode.APPROVAL),
        ("cw-rmm-create-ticket", PolicyMode.APPROVAL),
        ("rmm-update-ticket", PolicyMode.APPROVAL),
        ("rmm-schedule-reboot", PolicyMode.APPROVAL),
        ("rmm-uninstall-agent", PolicyMode.NEVER),
        ("rmm-delete-device", PolicyMode.NEVER),
        ("wipe-laptop", PolicyMode.NEVER),
        ("rmm-reset-password", PolicyMode.NEVER),
        ("cw-rmm-script-disk-cleanup", PolicyMode.APPROVAL),
        ("cw-rmm-script-get-disk-info", PolicyMode.APPROVAL),
        ("rmm-script-wipe-profile", PolicyMode.NEVER),
        ("frobnicate", PolicyMode.APPROVAL),
    ],
)
def test_verbs(name: str, mode: PolicyMode) -> None:
    verdict = classify(_tool(name))
    assert verdict.mode is mode, verdict.reason
    assert verdict.reason


def test_annotations() -> None:
    assert classify(_tool("frobnicate", read_only=True)).mode is PolicyMode.AUTO
    assert classify(_tool("frobnicate", destructive=True)).mode is PolicyMode.NEVER
    assert classify(_tool("get-thing", destructive=True)).mode is PolicyMode.NEVER
    ack = classify(_tool("rmm-acknowledge-alert", destructive=False, idempotent=True, open_world=False))
    assert ack.mode is PolicyMode.AUTO and "idempotent" in ack.reason


def test_destructive_words_beat_read_only_annotation() -> None:
    assert classify(_tool("get-and-delete-logs", read_only=True)).mode is PolicyMode.NEVER


def test_destructive_description() -> None:
    verdict = classify(_tool("cw-rmm-script-cleanup", "Wipes the user profile. Use with care."))
    assert verdict.mode is PolicyMode.NEVER and "wipes" in verdict.reason.lower()


def test_unknown_fails_closed_with_reason() -> None:
    verdict = classify(_tool("zap"))
    assert verdict.mode is PolicyMode.APPROVAL and "fail closed" in verdict.reason
