"""Tool policies: seed from the classifier the first time a tool is seen, admin overrides, listing.

An override may differ by the caller's role (``role_modes``, e.g. ``rmm-run-command``: auto for
admins, approval for operators) and may ask for two approvals from different people. The
classifier's seeded mode and reason stay on the row (``classifier_mode``), so a reset restores them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import AuditEvent
from hub.core.caller import Caller
from hub.core.changes import require_admin
from hub.core.db import utcnow
from hub.core.errors import ToolError
from hub.core.registry import Tool
from hub.core.roles import Role
from hub.core.uow import publish_after_commit, session_bus
from policies.classifier import classify
from policies.events import POLICY_CHANGED, PolicyChanged
from policies.models import PolicyMode, PolicyOrigin, ToolPolicy
from policies.voiding import fail_pending_for_tool


async def _seed(session: AsyncSession, org_id: int, tools: Sequence[Tool]) -> None:
    """Insert classifier policies for tools that have none yet (concurrency-safe: first writer wins)."""
    if not tools:
        return
    rows = []
    for tool in tools:
        verdict = classify(tool)
        rows.append(
            {
                "org_id": org_id,
                "tool_id": tool.id,
                "mode": verdict.mode.value,
                "origin": PolicyOrigin.CLASSIFIER.value,
                "reason": verdict.reason,
                "classifier_mode": verdict.mode.value,
                "classifier_reason": verdict.reason,
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
        )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ToolPolicy).values(rows).on_conflict_do_nothing(index_elements=["org_id", "tool_id"])
    await session.execute(stmt)


async def policies_for(session: AsyncSession, org_id: int, tools: Sequence[Tool]) -> dict[str, ToolPolicy]:
    """The policy of each tool in ``tools`` for ``org_id``, seeding missing ones; keyed by tool id."""
    ids = [t.id for t in tools]
    found = {
        p.tool_id: p
        for p in (
            await session.execute(select(ToolPolicy).where(ToolPolicy.org_id == org_id, ToolPolicy.tool_id.in_(ids)))
        ).scalars()
    }
    missing = [t for t in tools if t.id not in found]
    if missing:
        await _seed(session, org_id, missing)
        stmt = select(ToolPolicy).where(ToolPolicy.org_id == org_id, ToolPolicy.tool_id.in_([t.id for t in missing]))
        for policy in (await session.execute(stmt)).scalars():
            found[policy.tool_id] = policy
    return found


async def policy_for(session: AsyncSession, org_id: int, tool: Tool) -> ToolPolicy:
    """The policy of one tool (seeded on first sight)."""
    return (await policies_for(session, org_id, [tool]))[tool.id]


def _settings(policy: ToolPolicy) -> dict[str, object]:
    return {
        "mode": policy.mode.value,
        "role_modes": dict(policy.role_modes or {}),
        "approvals_required": policy.approvals_required,
        "admin_required": policy.admin_required,
    }


async def set_policy(
    session: AsyncSession,
    *,
    caller: Caller,
    tool: Tool,
    mode: PolicyMode | None = None,
    note: str = "",
    role_modes: Mapping[Role, PolicyMode | None] | None = None,
    approvals_required: int | None = None,
    admin_required: bool | None = None,
) -> ToolPolicy:
    """An admin override of a tool's policy; audited with the old and new settings.

    Only what is given changes: ``mode`` (every role), ``role_modes`` (per role; ``None`` for a role
    drops its override), ``approvals_required`` (1, or 2 for two-person approval) and
    ``admin_required`` (one of the two approvers must be an admin). Setting ``never`` fails the
    tool's pending approvals (and those asked through it) at once.
    """
    require_admin(caller, "only admins can change policies")
    if approvals_required is not None and approvals_required not in (1, 2):
        raise ToolError("approvals_required must be 1 or 2")
    policy = await policy_for(session, caller.org_id, tool)
    old = _settings(policy)
    if mode is not None:
        policy.mode = mode
    if role_modes is not None:
        merged = dict(policy.role_modes or {})
        for role, role_mode in role_modes.items():
            if role_mode is None:
                merged.pop(role.value, None)
            else:
                merged[role.value] = role_mode.value
        policy.role_modes = merged
    if approvals_required is not None:
        policy.approvals_required = approvals_required
    if admin_required is not None:
        policy.admin_required = admin_required
    policy.origin = PolicyOrigin.ADMIN
    policy.reason = f"set by {caller.label}" + (f": {note}" if note else "")
    policy.updated_by_user_id = caller.user_id
    policy.updated_at = utcnow()
    new = _settings(policy)
    audit.record(
        session,
        event=AuditEvent.POLICY_CHANGED,
        actor=caller.actor,
        org_id=caller.org_id,
        tool_id=tool.id,
        outcome=policy.mode.value,
        detail={"from": old["mode"], "to": new["mode"], "note": note, "before": old, "after": new},
    )
    await session.flush()
    await _fail_pending_if_never(session, caller, tool, policy)
    _announce_change(session, caller, tool, policy)
    return policy


async def reset_policy(session: AsyncSession, *, caller: Caller, tool: Tool) -> ToolPolicy:
    """Drop an admin override: the tool goes back to the classifier's mode and reason (``never`` fails its pending)."""
    require_admin(caller, "only admins can change policies")
    policy = await policy_for(session, caller.org_id, tool)
    old = policy.mode
    verdict = classify(tool)
    policy.mode, policy.origin, policy.reason = verdict.mode, PolicyOrigin.CLASSIFIER, verdict.reason
    policy.role_modes, policy.approvals_required, policy.admin_required = {}, 1, False
    policy.classifier_mode, policy.classifier_reason = verdict.mode, verdict.reason
    policy.updated_by_user_id, policy.updated_at = caller.user_id, utcnow()
    audit.record(
        session,
        event=AuditEvent.POLICY_CHANGED,
        actor=caller.actor,
        org_id=caller.org_id,
        tool_id=tool.id,
        outcome=verdict.mode.value,
        detail={"from": old.value, "to": verdict.mode.value, "reset_to_classifier": True},
    )
    await session.flush()
    await _fail_pending_if_never(session, caller, tool, policy)
    _announce_change(session, caller, tool, policy)
    return policy


async def _fail_pending_if_never(session: AsyncSession, caller: Caller, tool: Tool, policy: ToolPolicy) -> None:
    if policy.mode is not PolicyMode.NEVER:
        return
    why = f"{tool.name} was set to never by policy ({policy.reason}); this request can no longer run"
    await fail_pending_for_tool(session, session_bus(session), org_id=caller.org_id, tool_id=tool.id, why=why)


def _announce_change(session: AsyncSession, caller: Caller, tool: Tool, policy: ToolPolicy) -> None:
    """Tell listings (MCP ``tools/list``) once the change is committed."""
    bus = session_bus(session)
    if bus is not None:
        event = POLICY_CHANGED.event(caller.org_id, PolicyChanged(tool=tool.id, mode=policy.mode.value))
        publish_after_commit(session, bus, event)
