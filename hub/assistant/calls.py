"""What one tool call of the assistant does: the gate, as caller ``assistant`` on behalf of the user.

:class:`ToolCaller` is the run's dependencies object (``RunContext.deps``). Each call is its own unit
of work (the gate's audit, approval and result commit with it), so a slow model never holds a
database transaction open. An ``approval`` answer pauses the run: :class:`ApprovalRequired` carries
the approval id, and the run ends with ``DeferredToolRequests``. When it resumes, the approved call
comes back here with ``tool_call_approved`` and the server-side metadata naming the approval, and the
result is the one the gate ran when the approver approved: nothing runs twice, nothing runs unapproved.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import ApprovalRequired, ModelRetry, RunContext

from hub.assistant.models import StepStatus
from hub.core.caller import Caller
from hub.core.context import HubContext
from hub.core.db import get_in_org
from hub.core.errors import ToolArgumentError, UnknownToolError
from hub.core.jsonutil import clip
from hub.core.registry import Tool
from policies.models import Approval, ApprovalStatus
from policies.outcome import InvocationStatus
from policies.pipeline import Gate

_STATUS = {
    InvocationStatus.DONE: StepStatus.DONE,
    InvocationStatus.PENDING_APPROVAL: StepStatus.PENDING_APPROVAL,
    InvocationStatus.REFUSED: StepStatus.REFUSED,
    InvocationStatus.FAILED: StepStatus.FAILED,
}


@dataclass
class Step:
    """One tool call as the conversation shows it (persisted with the turn)."""

    tool_call_id: str
    tool: str
    args: dict[str, Any]
    policy: str
    status: StepStatus
    message: str = ""
    approval_id: int | None = None
    result: Any = None
    plan: bool = False


def approval_description(approval: Approval) -> str:
    """The approval's readable description: its stored one when the table has it, else tool and arguments."""
    stored = getattr(approval, "description", None)
    if isinstance(stored, str) and stored.strip():
        return stored
    args = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(approval.args.items()))
    return clip(f"{approval.tool_name}({args})", 300)


@dataclass
class ToolCaller:
    """The dependencies of one assistant run: who is asking, for which conversation, in which mode."""

    hub: HubContext
    gate: Gate
    caller: Caller
    conversation_id: int
    request: str
    plan: bool = False
    policies: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    on_step: Callable[[Step], None] | None = None

    def _add(self, step: Step) -> None:
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)

    async def call(self, ctx: RunContext[ToolCaller], tool: Tool, args: dict[str, Any]) -> Any:
        """Run (or plan, or pause on) one call of ``tool`` with schema-checked ``args``."""
        call_id = ctx.tool_call_id or ""
        if ctx.tool_call_approved:
            return await self._approved(call_id, tool, args, ctx.tool_call_metadata)
        policy = self.policies.get(tool.id, "approval")
        if self.plan:
            self._add(Step(call_id, tool.name, args, policy, StepStatus.PLANNED, "planned, not run", plan=True))
            return {"planned": True, "policy": policy, "note": "plan mode: nothing ran; the user may run the plan"}
        try:
            async with self.hub.db.transaction() as session:
                outcome = await self.gate.invoke(
                    session, self.caller, tool.id, args, reason=clip(f"assistant: {self.request}", 500),
                    context={"conversation_id": self.conversation_id, "via": "assistant"},
                )  # fmt: skip
        except (ToolArgumentError, UnknownToolError) as exc:
            self._add(Step(call_id, tool.name, args, policy, StepStatus.RETRIED, exc.message))
            raise ModelRetry(exc.message) from exc
        step = Step(
            call_id, tool.name, args, outcome.policy or policy, _STATUS[outcome.status], outcome.message,
            approval_id=outcome.approval_id, result=outcome.result,
        )  # fmt: skip
        self._add(step)
        if outcome.status is InvocationStatus.PENDING_APPROVAL:
            raise ApprovalRequired(metadata={"approval_id": outcome.approval_id})
        if outcome.status is InvocationStatus.DONE:
            return outcome.result
        return {"status": outcome.status.value, "message": outcome.message}

    async def _approved(self, call_id: str, tool: Tool, args: dict[str, Any], metadata: Any) -> Any:
        """The result of an approved call: what the gate ran when the approver approved (never a second run)."""
        approval_id = metadata.get("approval_id") if isinstance(metadata, dict) else None
        async with self.hub.db.transaction() as session:
            approval = (
                await get_in_org(session, Approval, approval_id, self.caller.org_id)
                if isinstance(approval_id, int)
                else None
            )
            if approval is None or approval.context.get("conversation_id") != self.conversation_id:
                return {"status": "failed", "message": "this approval does not belong to the conversation; nothing ran"}
            status, result, error = approval.status, approval.result, approval.error
        self._add(
            Step(
                call_id, tool.name, args, "approval",
                StepStatus.DONE if status is ApprovalStatus.EXECUTED else StepStatus.FAILED,
                error or f"approval #{approval_id} {status.value}", approval_id=approval_id, result=result,
            )
        )  # fmt: skip
        if status is ApprovalStatus.EXECUTED:
            return result
        return {"status": "failed", "message": error or f"approval #{approval_id} is {status.value}; nothing ran"}
