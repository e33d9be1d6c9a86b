"""Script library rules: create, update, delete (admin; audited), list and find.

Every change keeps the script's dynamic tool in step (:mod:`native_rmm.scripts.dynamic`): the
registry is re-synced after commit, other replicas hear ``script.changed`` on the bus. When a
script's tool disappears (deleted or disabled), or what it runs changes (body, shell, OS type,
parameters), its pending approvals fail with a clear error: an approver must never approve one
script and run another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import Shell
from hub.core.caller import Caller
from hub.core.changes import record_change, require_admin
from hub.core.db import require_in_org, utcnow
from hub.core.errors import Conflict, InvalidRequest, NotFound, ToolError
from native_rmm.models.scripts import Script, ScriptOsType
from native_rmm.scripts import dynamic
from native_rmm.scripts.params import normalise_schema
from native_rmm.scripts.schemas import ScriptIn, ScriptUpdate
from native_rmm.scripts.slugs import slugify, unique_slug
from policies.approvals import fail_pending_for_tool
from policies.pipeline import Gate

RUN_FIELDS = frozenset({"body", "shell", "os_type", "parameters", "timeout_seconds"})


def _require_admin(actor: Caller) -> None:
    require_admin(actor, "only admins can change the script library (scripts run as root/SYSTEM on endpoints)")


def _check_shell(os_type: ScriptOsType, shell: Shell) -> None:
    if shell is Shell.CMD and os_type is not ScriptOsType.WINDOWS:
        raise ToolError("cmd scripts run only on Windows; set os_type to WINDOWS or pick another shell")


def _audit(session: AsyncSession, actor: Caller, what: str, script: Script, detail: dict[str, Any]) -> None:
    record_change(
        session,
        actor=actor.actor,
        org_id=script.org_id,
        outcome=f"rmm.script.{what}",
        detail={"script_id": script.id, "slug": script.slug, **detail},
    )


async def list_scripts(
    session: AsyncSession,
    *,
    org_id: int,
    enabled: bool | None = None,
    os_type: ScriptOsType | None = None,
    search: str | None = None,
) -> Sequence[Script]:
    """Scripts of an organisation by name; ``os_type`` also matches ``ALL`` scripts."""
    stmt = select(Script).where(Script.org_id == org_id)
    if enabled is not None:
        stmt = stmt.where(Script.enabled.is_(enabled))
    if os_type is not None:
        stmt = stmt.where(Script.os_type.in_([os_type, ScriptOsType.ALL]))
    if search:
        like = f"%{search.lower()}%"
        stmt = stmt.where(or_(Script.name.ilike(like), Script.slug.ilike(like), Script.description.ilike(like)))
    return (await session.execute(stmt.order_by(Script.name, Script.id))).scalars().all()


async def get_script(session: AsyncSession, *, org_id: int, script_id: int) -> Script:
    """One script of the organisation, or :class:`NotFound`."""
    return await require_in_org(session, Script, script_id, org_id, missing=f"script #{script_id} does not exist")


async def find_script(session: AsyncSession, *, org_id: int, ref: int | str) -> Script:
    """A script by id or slug, or :class:`NotFound`."""
    if isinstance(ref, int) or ref.isdigit():
        return await get_script(session, org_id=org_id, script_id=int(ref))
    script = (
        await session.execute(select(Script).where(Script.org_id == org_id, Script.slug == ref))
    ).scalar_one_or_none()
    if script is None:
        raise NotFound(f"no script with the slug {ref!r}; rmm-list-scripts lists them")
    return script


async def _taken_slugs(session: AsyncSession, org_id: int) -> set[str]:
    return set((await session.execute(select(Script.slug).where(Script.org_id == org_id))).scalars())


async def create_script(
    session: AsyncSession, gate: Gate, *, actor: Caller, data: ScriptIn, builtin: bool = False
) -> Script:
    """Add a script to the actor's organisation (admin); its tool appears once the change commits.

    Raises:
        InvalidParameterSchema: the parameter schema is not acceptable.
        Conflict: an explicit ``slug`` is taken.
    """
    _require_admin(actor)
    _check_shell(data.os_type, data.shell)
    parameters = normalise_schema(data.parameters)
    taken = await _taken_slugs(session, actor.org_id)
    if data.slug is not None and data.slug in taken:
        raise Conflict(f"the slug {data.slug!r} is taken by another script; pick another or leave it out")
    now = utcnow()
    script = Script(
        org_id=actor.org_id,
        name=data.name,
        slug=data.slug or unique_slug(slugify(data.name), taken),
        description=data.description,
        os_type=data.os_type,
        shell=data.shell,
        body=data.body,
        parameters=parameters,
        timeout_seconds=data.timeout_seconds,
        enabled=data.enabled,
        is_builtin=builtin,
        revision=1,
        created_at=now,
        created_by_label=actor.label,
        updated_at=now,
        updated_by_label=actor.label,
    )
    session.add(script)
    await session.flush()
    _audit(session, actor, "created", script, {"name": script.name, "os_type": script.os_type.value})
    dynamic.schedule_sync(session, gate, actor.org_id)
    return script


async def update_script(
    session: AsyncSession, gate: Gate, *, actor: Caller, script_id: int, data: ScriptUpdate
) -> Script:
    """Change a script (admin). Changing what it runs bumps ``revision`` and fails pending approvals."""
    _require_admin(actor)
    script = await get_script(session, org_id=actor.org_id, script_id=script_id)
    changes = data.model_dump(exclude_unset=True)
    for name in ("name", "os_type", "shell", "body", "timeout_seconds", "enabled"):
        if name in changes and changes[name] is None:
            raise InvalidRequest(f"{name} cannot be cleared")
    if "parameters" in changes:
        changes["parameters"] = normalise_schema(changes["parameters"])
    _check_shell(changes.get("os_type", script.os_type), changes.get("shell", script.shell))
    changed = {k for k, v in changes.items() if getattr(script, k) != v}
    if not changed:
        return script
    was_enabled = script.enabled
    for name in changed:
        setattr(script, name, changes[name])
    script.updated_at, script.updated_by_label = utcnow(), actor.label
    if changed & RUN_FIELDS:
        script.revision += 1
    await session.flush()
    tool_id = f"{dynamic.SOURCE}:{script.tool_name}"
    if was_enabled and not script.enabled:
        why = f"script {script.slug!r} was disabled by {actor.label}; its tool no longer exists"
        await fail_pending_for_tool(session, gate, org_id=script.org_id, tool_id=tool_id, why=why)
    elif changed & RUN_FIELDS:
        why = (
            f"script {script.slug!r} was changed by {actor.label} ({', '.join(sorted(changed & RUN_FIELDS))}) "
            "after this request; ask again so the approver sees what will run"
        )
        await fail_pending_for_tool(session, gate, org_id=script.org_id, tool_id=tool_id, why=why)
    _audit(session, actor, "updated", script, {"changed": sorted(changed), "revision": script.revision})
    dynamic.schedule_sync(session, gate, actor.org_id)
    return script


async def delete_script(session: AsyncSession, gate: Gate, *, actor: Caller, script_id: int) -> None:
    """Delete a script (admin); its run history stays (commands keep ``script_id``)."""
    _require_admin(actor)
    script = await get_script(session, org_id=actor.org_id, script_id=script_id)
    why = f"script {script.slug!r} was deleted by {actor.label}; its tool no longer exists"
    await fail_pending_for_tool(
        session, gate, org_id=script.org_id, tool_id=f"{dynamic.SOURCE}:{script.tool_name}", why=why
    )
    _audit(session, actor, "deleted", script, {"name": script.name})
    await session.delete(script)
    await session.flush()
    dynamic.schedule_sync(session, gate, actor.org_id)
