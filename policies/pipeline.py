"""The one pipeline every action goes through: resolve, validate, gate by role and policy, audit, run.

No caller runs a handler directly: REST, UI pages, the assistant, MCP and automations all call
:meth:`Gate.invoke`, and approvers' decisions come back through :meth:`Gate.run_approved`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import AuditEvent
from hub.core.caller import Caller
from hub.core.db import utcnow
from hub.core.errors import RmmHubError, ToolError
from hub.core.events import EventBus
from hub.core.jsonutil import preview, sha256_of
from hub.core.registry import Tool, ToolContext, ToolRegistry
from hub.core.settings import Settings
from hub.core.uow import publish_after_commit
from policies.events import APPROVAL_REQUESTED, ApprovalRequested
from policies.models import Approval, ApprovalStatus, PolicyMode
from policies.outcome import InvocationStatus, Outcome
from policies.service import policy_for

log = logging.getLogger(__name__)


class Gate:
    """The policy gate of one hub process (registry, bus and settings injected by ``hub.main``)."""

    def __init__(self, *, registry: ToolRegistry, bus: EventBus, settings: Settings) -> None:
        self.registry = registry
        self.bus = bus
        self.settings = settings

    async def invoke(
        self,
        session: AsyncSession,
        caller: Caller,
        name: str,
        args: Any,
        *,
        reason: str = "",
        context: dict[str, Any] | None = None,
    ) -> Outcome:
        """Invoke tool ``name`` with ``args`` for ``caller``.

        Raises:
            UnknownToolError: no such tool in the caller's organisation.
            ToolArgumentError: ``args`` do not match the tool's schema (nothing is recorded).
        """
        tool = self.registry.resolve(name, caller.org_id)
        valid = tool.validate_args(args)
        args_hash = sha256_of(valid)
        if not caller.can(tool.min_role):
            message = f"your role ({caller.role.value}) cannot use {tool.name}; it needs {tool.min_role.value} or above"
            self._audit(session, caller, AuditEvent.TOOL_REFUSED, tool, args_hash, "role", {"message": message})
            return Outcome(status=InvocationStatus.REFUSED, tool=tool.id, message=message)

        policy = await policy_for(session, caller.org_id, tool)
        self._audit(
            session,
            caller,
            AuditEvent.TOOL_REQUESTED,
            tool,
            args_hash,
            policy.mode.value,
            {"args": valid, "reason": reason, "policy_reason": policy.reason},
        )
        if policy.mode is PolicyMode.NEVER:
            message = f"{tool.name} is not allowed by policy ({policy.reason})"
            self._audit(session, caller, AuditEvent.TOOL_REFUSED, tool, args_hash, "never", {"message": message})
            return Outcome(status=InvocationStatus.REFUSED, tool=tool.id, message=message, policy="never")
        if policy.mode is PolicyMode.APPROVAL:
            return await self._request_approval(session, caller, tool, valid, args_hash, reason, context or {})
        return await self._execute(session, caller, tool, valid, args_hash, approval_id=None)

    async def _request_approval(
        self,
        session: AsyncSession,
        caller: Caller,
        tool: Tool,
        args: dict[str, Any],
        args_hash: str,
        reason: str,
        context: dict[str, Any],
    ) -> Outcome:
        now = utcnow()
        approval = Approval(
            org_id=caller.org_id,
            tool_id=tool.id,
            args=args,
            args_sha256=args_hash,
            reason=reason,
            requester_user_id=caller.user_id,
            requester_label=caller.label,
            requester_role=caller.role.value,
            requested_via=caller.kind.value,
            on_behalf_of_user_id=caller.on_behalf_of_user_id,
            status=ApprovalStatus.PENDING,
            created_at=now,
            expires_at=now + timedelta(hours=self.settings.approval_ttl_hours),
            context=context,
        )
        session.add(approval)
        await session.flush()
        self._audit(
            session, caller, AuditEvent.APPROVAL_REQUESTED, tool, args_hash, "pending", {"reason": reason},
            approval_id=approval.id,
        )  # fmt: skip
        publish_after_commit(
            session,
            self.bus,
            APPROVAL_REQUESTED.event(
                caller.org_id, ApprovalRequested(approval_id=approval.id, tool=tool.id, requester=caller.label)
            ),
        )
        return Outcome(
            status=InvocationStatus.PENDING_APPROVAL,
            tool=tool.id,
            approval_id=approval.id,
            expires_at=approval.expires_at,
            policy="approval",
            message=f"pending approval #{approval.id}: an approver must allow {tool.name} before it runs",
        )

    async def _execute(
        self,
        session: AsyncSession,
        caller: Caller,
        tool: Tool,
        args: dict[str, Any],
        args_hash: str,
        *,
        approval_id: int | None,
    ) -> Outcome:
        ctx = ToolContext(session=session, caller=caller, bus=self.bus, settings=self.settings, approval_id=approval_id)
        try:
            async with session.begin_nested():
                value = tool.check_result(await tool.handler(ctx, args))
                result = tool.dump_result(value)
        except RmmHubError as exc:
            self._audit(
                session, caller, AuditEvent.TOOL_FAILED, tool, args_hash, "failed", {"error": exc.message},
                approval_id=approval_id,
            )  # fmt: skip
            return Outcome(
                status=InvocationStatus.FAILED, tool=tool.id, message=exc.message, error_status=exc.status_code
            )
        except Exception as exc:
            log.exception("tool %s crashed", tool.id)
            message = f"{tool.name} failed unexpectedly: {type(exc).__name__}: {exc}"
            self._audit(
                session, caller, AuditEvent.TOOL_FAILED, tool, args_hash, "crashed", {"error": message},
                approval_id=approval_id,
            )  # fmt: skip
            return Outcome(status=InvocationStatus.FAILED, tool=tool.id, message=message, error_status=500)
        self._audit(
            session, caller, AuditEvent.TOOL_EXECUTED, tool, args_hash, "done", {"result": preview(result)},
            approval_id=approval_id,
        )  # fmt: skip
        return Outcome(
            status=InvocationStatus.DONE, tool=tool.id, result=result, value=value, message=f"{tool.name} done"
        )

    async def run_approved(self, session: AsyncSession, approval: Approval, requester: Caller) -> Outcome:
        """Run an approval that was just moved to ``approved``: exactly its stored args, once.

        The tool is resolved again (it may have been removed since), the args hash re-checked and
        the args re-validated against the tool's current schema; any mismatch fails the approval
        with a clear error instead of running something else than what was approved.
        """
        if sha256_of(approval.args) != approval.args_sha256:
            raise ToolError(f"approval #{approval.id}: the stored arguments no longer match their hash; not run")
        tool = self.registry.resolve(approval.tool_id, approval.org_id)
        tool.validate_args(approval.args)
        return await self._execute(
            session, requester, tool, approval.args, approval.args_sha256, approval_id=approval.id
        )

    def _audit(
        self,
        session: AsyncSession,
        caller: Caller,
        event: AuditEvent,
        tool: Tool,
        args_hash: str,
        outcome: str,
        detail: dict[str, Any],
        *,
        approval_id: int | None = None,
    ) -> None:
        audit.record(
            session,
            event=event,
            actor=caller.actor,
            org_id=caller.org_id,
            tool_id=tool.id,
            approval_id=approval_id,
            args_sha256=args_hash,
            outcome=outcome,
            detail=detail,
        )
