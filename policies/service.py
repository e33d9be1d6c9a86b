"""Tool policies: seed from the classifier the first time a tool is seen, admin overrides, listing."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import AuditEvent
from hub.core.caller import Caller
from hub.core.db import utcnow
from hub.core.errors import PermissionDenied
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


async def set_policy(
    session: AsyncSession, *, caller: Caller, tool: Tool, mode: PolicyMode, note: str = ""
) -> ToolPolicy:
    """An admin override of a tool's mode; audited with the old and new mode.

    Setting ``never`` fails the tool's pending approvals (and those asked through it) at once.
    """
    if not caller.can(Role.ADMIN):
        raise PermissionDenied("only admins can change policies")
    policy = await policy_for(session, caller.org_id, tool)
    old = policy.mode
    policy.mode = mode
    policy.origin = PolicyOrigin.ADMIN
    policy.reason = f"set by {caller.label}" + (f": {note}" if note else "")
    policy.updated_by_user_id = caller.user_id
    policy.updated_at = utcnow()
    audit.record(
        session,
        event=AuditEvent.POLICY_CHANGED,
        actor=caller.actor,
        org_id=caller.org_id,
        tool_id=tool.id,
        outcome=mode.value,
        detail={"from": old.value, "to": mode.value, "note": note},
    )
    await session.flush()
    await _fail_pending_if_never(session, caller, tool, policy)
    _announce_change(session, caller, tool, policy)
    return policy


async def reset_policy(session: AsyncSession, *, caller: Caller, tool: Tool) -> ToolPolicy:
    """Drop an admin override: the tool goes back to the classifier's mode and reason (``never`` fails its pending)."""
    if not caller.can(Role.ADMIN):
        raise PermissionDenied("only admins can change policies")
    policy = await policy_for(session, caller.org_id, tool)
    old = policy.mode
    verdict = classify(tool)
    policy.mode, policy.origin, policy.reason = verdict.mode, PolicyOrigin.CLASSIFIER, verdict.reason
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
