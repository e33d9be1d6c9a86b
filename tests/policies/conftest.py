"""A small tool source for pipeline tests: one read tool, one write tool, one destructive tool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from hub.core.context import HubContext
from hub.core.errors import ToolError
from hub.core.registry import Tool, ToolAnnotations, ToolContext
from hub.core.roles import Role

SCHEMA = {
    "type": "object",
    "properties": {
        "device": {"type": "string", "minLength": 1},
        "count": {"type": "integer", "minimum": 1, "maximum": 10},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["device"],
    "additionalProperties": False,
}


@dataclass
class DemoTools:
    """Records every handler call so tests can prove what ran, with which args, how often."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def ran(self, name: str) -> list[dict[str, Any]]:
        return [args for tool, args in self.calls if tool == name]


@pytest.fixture
def demo_tools(hub: HubContext) -> DemoTools:
    demo = DemoTools()

    def handler(name: str) -> Any:
        async def run(ctx: ToolContext, args: dict[str, Any]) -> Any:
            demo.calls.append((name, args))
            if args.get("device") == "explode":
                raise ToolError("device explode refused the command")
            return {"ok": True, "device": args["device"], "by": ctx.caller.label, "approval": ctx.approval_id}

        return run

    hub.registry.register_all(
        [
            Tool(
                "testsrc",
                "get-device-info",
                "Get details of a device.",
                SCHEMA,
                handler("get-device-info"),
                ToolAnnotations(read_only=True),
                min_role=Role.VIEWER,
                result_type=dict[str, Any],
            ),
            Tool(
                "testsrc",
                "restart-service",
                "Restart a service on a device.",
                SCHEMA,
                handler("restart-service"),
                result_type=dict[str, Any],
            ),
            Tool(
                "testsrc",
                "wipe-device",
                "Erase every disk of a device.",
                SCHEMA,
                handler("wipe-device"),
                result_type=dict[str, Any],
            ),
        ]
    )
    return demo
