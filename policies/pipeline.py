"""The one pipeline every action goes through: resolve, validate, gate by role and policy, audit, run.

No caller runs a handler directly: REST, UI pages, the assistant, MCP and automations all call
:meth:`Gate.invoke`, and approvers' decisions come back through :meth:`Gate.run_approved`.

Policy follows what runs, not the door it comes through: a tool may declare *policy targets*
(:attr:`hub.core.registry.Tool.policy_targets`, e.g. a generic runner naming a script), and the
strictest policy among the tool and its targets decides. When a target's policy asks for approval
the approval is recorded against that target tool, with the arguments it takes. An approval runs
against today's rules: its keyed digest, the tools' current policies, the requester (active, still
holding the role) and the approver (active) are checked again right before it runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import AuditEvent
from hub.core.caller import Caller, CallerKind
from hub.core.db import utcnow
from hub.core.describe import Description, generic
from hub.core.errors import RmmHubError, ToolError, UnknownToolError, error_id
from hub.core.events import EventBus
from hub.core.jsonutil import preview, sha256_of
from hub.core.models import User
from hub.core.redact import redact_secret_fields
from hub.core.registry import Tool, ToolContext, ToolRegistry
from hub.core.roles import Role
from hub.core.settings import Settings
from hub.core.uow import publish_after_commit
from policies.digest import digest_matches, request_digest
from policies.events import APPROVAL_REQUESTED, ApprovalRequested
from policies.models import Approval, ApprovalStatus, PolicyMode, ToolPolicy
from policies.outcome import InvocationStatus, Outcome
from policies.service import policies_for
from policies.standing import StandingGrant

log = logging.getLogger(__name__)


_STRICTNESS = {PolicyMode.AUTO: 0, PolicyMode.APPROVAL: 1, PolicyMode.NEVER: 2}


@dataclass(frozen=True)
class _Involved:
    """A tool whose policy governs a call: the tool called, or one of its targets (with its args)."""

    tool: Tool
    args: dict[str, Any] | None
    policy: ToolPolicy
    #: The policy's mode for the caller's role (a role override, else the tool's mode).
    mode: PolicyMode


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
        standing: StandingGrant | None = None,
    ) -> Outcome:
        """Invoke tool ``name`` with ``args`` for ``caller``.

        ``standing`` is a schedule's standing approval: where the policy asks for approval and the grant
        covers this tool (digest intact, unexpired), the call runs under that approval instead of asking.

        Raises:
            UnknownToolError: no such tool in the caller's organisation.
            ToolArgumentError: ``args`` do not match the tool's schema (or the target tool's; nothing is recorded).
        """
        tool = self.registry.resolve(name, caller.org_id)
        valid = tool.validate_args(args)
        args_hash = sha256_of(valid)
        targets = await self._targets(session, caller, tool, valid)
        for involved in (tool, *(t for t, _ in targets)):
            if not caller.can(involved.min_role):
                message = (
                    f"your role ({caller.role.value}) cannot use {involved.name}; "
                    f"it needs {involved.min_role.value} or above"
                )
                self._audit(session, caller, AuditEvent.TOOL_REFUSED, tool, args_hash, "role", {"message": message})
                return Outcome(status=InvocationStatus.REFUSED, tool=tool.id, message=message)

        policies = await policies_for(session, caller.org_id, [tool, *(t for t, _ in targets)])
        role = caller.role.value
        governing = [_Involved(tool, valid, policies[tool.id], policies[tool.id].mode_for(role))] + [
            _Involved(t, a, policies[t.id], policies[t.id].mode_for(role)) for t, a in targets
        ]
        # The strictest policy wins; on a tie the most specific tool (a target, listed last) decides.
        decider = max(enumerate(governing), key=lambda pair: (_STRICTNESS[pair[1].mode], pair[0]))[1]
        policy, mode = decider.policy, decider.mode
        asks_for_target = mode is PolicyMode.APPROVAL and decider.tool is not tool and decider.args is not None
        # Checked before anything is recorded: the approval will hold (and later run) exactly these.
        target_args = decider.tool.validate_args(decider.args) if asks_for_target else None
        detail: dict[str, Any] = {"args": valid, "reason": reason, "policy_reason": policy.reason}
        if decider.tool is not tool:
            detail["policy_of"] = decider.tool.id
        if mode is not policy.mode:
            detail["role_mode"] = {"role": role, "mode": mode.value}
        self._audit(session, caller, AuditEvent.TOOL_REQUESTED, tool, args_hash, mode.value, detail)
        if mode is PolicyMode.NEVER:
            if decider.tool is tool:
                message = f"{tool.name} is not allowed by policy ({policy.reason})"
            else:
                message = f"{tool.name} would run {decider.tool.name}, which is not allowed by policy ({policy.reason})"
            self._audit(session, caller, AuditEvent.TOOL_REFUSED, tool, args_hash, "never", {"message": message})
            return Outcome(status=InvocationStatus.REFUSED, tool=tool.id, message=message, policy="never")
        if policy.mode is PolicyMode.APPROVAL and standing is not None:
            if standing.covers(self.settings.secret, org_id=caller.org_id, tool_id=tool.id, now=utcnow()):
                return await self._execute(session, caller, tool, valid, args_hash, approval_id=standing.approval_id)
            detail = {"standing_approval": standing.approval_id, "message": "standing approval expired or void"}
            self._audit(session, caller, AuditEvent.TOOL_REQUESTED, tool, args_hash, "standing-void", detail)
        if target_args is not None:
            return await self._request_approval(
                session, caller, decider.tool, target_args, reason, context or {}, via=tool, policy=policy
            )
        if mode is PolicyMode.APPROVAL:
            return await self._request_approval(
                session, caller, tool, valid, reason, context or {}, via=None, policy=policy
            )
        return await self._execute(session, caller, tool, valid, args_hash, approval_id=None)

    async def _targets(
        self, session: AsyncSession, caller: Caller, tool: Tool, args: dict[str, Any]
    ) -> list[tuple[Tool, dict[str, Any] | None]]:
        """The registered tools whose policy also governs this call (none for most tools)."""
        if tool.policy_targets is None:
            return []
        ctx = ToolContext(session=session, caller=caller, bus=self.bus, settings=self.settings)
        found: list[tuple[Tool, dict[str, Any] | None]] = []
        for target in await tool.policy_targets(ctx, args):
            try:
                found.append((self.registry.resolve(target.tool_id, caller.org_id), target.args))
            except UnknownToolError:
                # The target has no tool (e.g. a disabled script): nothing stricter to apply; the runner decides.
                continue
        return found

    async def _request_approval(
        self,
        session: AsyncSession,
        caller: Caller,
        tool: Tool,
        args: dict[str, Any],
        reason: str,
        context: dict[str, Any],
        *,
        via: Tool | None,
        policy: ToolPolicy,
    ) -> Outcome:
        now = utcnow()
        description = await self._describe(session, caller, tool, args)
        digest = request_digest(
            self.settings.secret,
            org_id=caller.org_id,
            tool_id=tool.id,
            via_tool_id=via.id if via else None,
            requester_user_id=caller.user_id,
            on_behalf_of_user_id=caller.on_behalf_of_user_id,
            args=args,
        )
        approval = Approval(
            org_id=caller.org_id,
            tool_id=tool.id,
            via_tool_id=via.id if via else None,
            args=args,
            args_digest=digest,
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
            description=description.text(),
            description_detail=description.model_dump(mode="json"),
            approvals_required=2 if policy.approvals_required >= 2 else 1,
            admin_required=policy.admin_required and policy.approvals_required >= 2,
        )
        session.add(approval)
        await session.flush()
        detail: dict[str, Any] = {"reason": reason} | ({"via": via.id} if via else {})
        self._audit(
            session, caller, AuditEvent.APPROVAL_REQUESTED, tool, sha256_of(args), "pending", detail,
            approval_id=approval.id,
        )  # fmt: skip
        publish_after_commit(
            session,
            self.bus,
            APPROVAL_REQUESTED.event(
                caller.org_id, ApprovalRequested(approval_id=approval.id, tool=tool.id, requester=caller.label)
            ),
        )
        asked = f"{tool.name} (asked through {via.name})" if via else tool.name
        return Outcome(
            status=InvocationStatus.PENDING_APPROVAL,
            tool=tool.id,
            approval_id=approval.id,
            expires_at=approval.expires_at,
            policy="approval",
            message=f"pending approval #{approval.id}: an approver must allow {asked} before it runs",
        )

    async def _describe(self, session: AsyncSession, caller: Caller, tool: Tool, args: dict[str, Any]) -> Description:
        """What the request will do in words (the tool's ``describe`` hook, else the generic sentence)."""
        if tool.describe is None:
            return generic(tool.title, tool.name, args)
        ctx = ToolContext(session=session, caller=caller, bus=self.bus, settings=self.settings)
        try:
            async with session.begin_nested():
                return await tool.describe(ctx, args)
        except RmmHubError as exc:
            # The handler will give the caller this error when it runs; the approver still sees the request.
            described = generic(tool.title, tool.name, args)
            described.summary = f"{described.summary} (could not be described: {exc.message})"[:2000]
            return described

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
                status=InvocationStatus.FAILED, tool=tool.id, message=exc.message, error_status=exc.status_code,
                retry_after=exc.retry_after,
            )  # fmt: skip
        except Exception:
            # A bug, not an answer: the traceback goes to the log under an id; the caller gets the id only.
            reference = error_id()
            log.exception("tool %s crashed (error id %s)", tool.id, reference)
            message = f"{tool.name} failed unexpectedly (error id {reference}); the hub's log has the details"
            self._audit(
                session, caller, AuditEvent.TOOL_FAILED, tool, args_hash, "crashed",
                {"error": message, "error_id": reference}, approval_id=approval_id,
            )  # fmt: skip
            return Outcome(status=InvocationStatus.FAILED, tool=tool.id, message=message, error_status=500)
        self._audit(
            session, caller, AuditEvent.TOOL_EXECUTED, tool, args_hash, "done", {"result": preview(redact_secret_fields(result))},
            approval_id=approval_id,
        )  # fmt: skip
        return Outcome(
            status=InvocationStatus.DONE, tool=tool.id, result=result, value=value, message=f"{tool.name} done"
        )

    async def run_approved(self, session: AsyncSession, approval: Approval, *, approver: Caller) -> Outcome:
        """Run an approval that was just moved to ``approved``: exactly its stored args, once, under today's rules.

        Before anything runs: the keyed digest is checked (args, tool, door and requester unchanged),
        the tool is resolved again (it may have been removed) and the args re-validated against its
        current schema, the requester must still be active and hold every involved tool's role, the
        approver must still be active and an approver, and no involved tool may be set to ``never``.

        Raises:
            ToolError: any of these checks failed; the message says which (nothing ran).
        """
        if not digest_matches(self.settings.secret, approval):
            raise ToolError(f"approval #{approval.id}: the stored arguments no longer match their hash; not run")
        tool = self.registry.resolve(approval.tool_id, approval.org_id)
        tool.validate_args(approval.args)
        requester = await self._current_requester(session, approval)
        await self._check_approver(session, approval, approver)
        involved = [self.registry.resolve(approval.via_tool_id, approval.org_id)] if approval.via_tool_id else []
        involved += [tool, *(t for t, _ in await self._targets(session, requester, tool, approval.args))]
        for one in involved:
            if not requester.can(one.min_role):
                raise ToolError(
                    f"approval #{approval.id}: the requester {approval.requester_label} is now "
                    f"{requester.role.value} and {one.name} needs {one.min_role.value} or above; not run"
                )
        policies = await policies_for(session, approval.org_id, involved)
        for one in involved:
            if policies[one.id].mode_for(requester.role.value) is PolicyMode.NEVER:
                raise ToolError(
                    f"approval #{approval.id}: {one.name} is now not allowed by policy "
                    f"({policies[one.id].reason}); not run"
                )
        return await self._execute(
            session, requester, tool, approval.args, sha256_of(approval.args), approval_id=approval.id
        )

    async def _current_requester(self, session: AsyncSession, approval: Approval) -> Caller:
        """The requester as they are now: their current role, or a refusal when they were disabled."""
        role = Role(approval.requester_role)
        for user_id in (approval.requester_user_id, approval.on_behalf_of_user_id):
            if user_id is None:
                continue
            user = await session.get(User, user_id)
            if user is None or user.disabled or user.org_id != approval.org_id:
                raise ToolError(f"approval #{approval.id}: requester disabled ({approval.requester_label}); not run")
            role = min(role, user.role, key=lambda r: r.rank)
        return Caller(
            user_id=approval.requester_user_id,
            label=approval.requester_label,
            role=role,
            org_id=approval.org_id,
            kind=CallerKind(approval.requested_via),
            on_behalf_of_user_id=approval.on_behalf_of_user_id,
        )

    @staticmethod
    async def _check_approver(session: AsyncSession, approval: Approval, approver: Caller) -> None:
        """The approver (and a two-person request's first approver) must still be active and hold the approver role."""
        approvers = [
            (approver.user_id, approver.label),
            (approval.first_approver_user_id, approval.first_approver_label),
        ]
        for user_id, label in approvers:
            if user_id is None:
                continue
            user = await session.get(User, user_id)
            if user is None or user.disabled or not user.role.at_least(Role.APPROVER):
                raise ToolError(f"approval #{approval.id}: approver {label} is disabled or no longer an approver")

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
