"""Registry tools as MCP tools: schema, output envelope, annotations and the policy in the description."""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any

import mcp_types as types
from pydantic import BaseModel, Field

from policies.models import PolicyMode
from policies.offered import OfferedTool
from policies.tools import GET_APPROVAL, ApprovalReport


class CallStatus(StrEnum):
    """How an MCP tool call ended (``structuredContent.status``)."""

    DONE = "done"
    PENDING_APPROVAL = "pending_approval"
    DENIED = "denied"
    EXPIRED = "expired"
    FAILED = "failed"


class CallEnvelope(BaseModel):
    """The structured content of every hub tool call: the typed ``result``, or the ``approval`` to follow."""

    status: CallStatus
    message: str
    result: Any = Field(default=None, description="the tool's typed result (its declared output schema)")
    approval: ApprovalReport | None = None

    def wire(self) -> dict[str, Any]:
        """As sent: absent fields left out (``result`` is only there when the tool ran)."""
        data = self.model_dump(mode="json", exclude={"result", "approval"})
        if self.status is CallStatus.DONE:
            data["result"] = self.result
        if self.approval is not None:
            data["approval"] = self.approval.model_dump(mode="json")
        return data


_APPROVAL_SCHEMA = ApprovalReport.model_json_schema(mode="serialization")
_APPROVAL_DEFS = _APPROVAL_SCHEMA.pop("$defs", {})


def output_schema(tool_schema: dict[str, Any]) -> dict[str, Any]:
    """The envelope's schema with the tool's own result schema as ``result`` (``$defs`` hoisted to the root)."""
    result = copy.deepcopy(tool_schema)
    defs = result.pop("$defs", {})
    return {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": [s.value for s in CallStatus]},
            "message": {"type": "string"},
            "result": result,
            "approval": _APPROVAL_SCHEMA,
        },
        "required": ["status", "message"],
        "$defs": {**_APPROVAL_DEFS, **defs},
    }


def policy_note(visible: OfferedTool) -> str:
    """The policy, as the description tells it to the model and the user."""
    reason = visible.reason
    if visible.mode is PolicyMode.APPROVAL:
        return (
            f"Policy: requires approval ({reason}). The call returns a pending approval id at once; "
            f"an approver decides in the rmmhub dashboard; follow it with {GET_APPROVAL}."
        )
    return f"Policy: runs at once ({reason})."


def mcp_tool(visible: OfferedTool) -> types.Tool:
    """One registry tool as the MCP ``tools/list`` entry."""
    tool = visible.tool
    hints = tool.annotations
    return types.Tool(
        name=tool.name,
        title=tool.title or tool.name,
        description=f"{tool.description}\n\n{policy_note(visible)}",
        input_schema=tool.input_schema,
        output_schema=output_schema(tool.output_schema),
        annotations=types.ToolAnnotations(
            title=tool.title or tool.name,
            read_only_hint=hints.read_only,
            destructive_hint=hints.destructive,
            idempotent_hint=hints.idempotent,
            open_world_hint=hints.open_world,
        ),
        _meta={"rmmhub/tool": tool.id, "rmmhub/policy": visible.mode.value},
    )
