"""Automatic agent updates: the organisation setting, and the leader's job that acts on it.

When an admin turns it on (Admin -> Agent installers, or ``PUT /api/v1/rmm/agent-updates``), the
``rmm-agent-auto-update`` job (leader replica only, like every scheduled job) invokes
``rmm-update-agents`` for each outdated agent of the organisation **through the policy gate** as
an automation caller, so the tool's policy (auto / approval / never) applies and every call is
audited. A device is not asked again while an update command of the last
``agent_auto_update_retry_hours`` exists for it or an approval for it is pending (a broken
release that was rolled back is not retried in a loop).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import CommandKind
from hub.core import audit
from hub.core.audit import AuditEvent
from hub.core.caller import Caller, CallerKind
from hub.core.db import utcnow
from hub.core.roles import Role
from native_rmm.devices.agent_versions import is_outdated
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from native_rmm.models.rustdesk import AgentUpdateSetting
from native_rmm.plane import DevicePlane
from native_rmm.updates.releases import latest_version
from policies.models import Approval, ApprovalStatus
from policies.pipeline import Gate

JOB_NAME = "rmm-agent-auto-update"
TOOL = "rmm-update-agents"
CALLER_LABEL = "automatic agent update"


class AgentUpdateSettings(BaseModel):
    """The organisation's agent-update setting as REST and the Admin page show it."""

    auto_update: bool
    updated_at: datetime | None = None
    updated_by: str = ""


async def get_settings(session: AsyncSession, org_id: int) -> AgentUpdateSettings:
    row = (await session.execute(select(AgentUpdateSetting).where(AgentUpdateSetting.org_id == org_id))).scalar()
    if row is None:
        return AgentUpdateSettings(auto_update=False)
    return AgentUpdateSettings(auto_update=row.auto_update, updated_at=row.updated_at, updated_by=row.updated_by_label)


async def set_settings(session: AsyncSession, *, caller: Caller, auto_update: bool) -> AgentUpdateSettings:
    """Save the setting (audited)."""
    row = (await session.execute(select(AgentUpdateSetting).where(AgentUpdateSetting.org_id == caller.org_id))).scalar()
    if row is None:
        row = AgentUpdateSetting(org_id=caller.org_id)
        session.add(row)
    row.auto_update, row.updated_at, row.updated_by_label = auto_update, utcnow(), caller.label
    audit.record(
        session,
        event=AuditEvent.DEVICE_CHANGED,
        actor=caller.actor,
        org_id=caller.org_id,
        outcome="agent_updates.settings",
        detail={"auto_update": auto_update},
    )
    await session.flush()
    return await get_settings(session, caller.org_id)


async def _recently_asked(session: AsyncSession, org_id: int, since: datetime) -> set[int]:
    commands = select(Command.device_id).where(
        Command.org_id == org_id, Command.kind == CommandKind.UPDATE_AGENT, Command.queued_at >= since
    )
    asked = set((await session.execute(commands)).scalars())
    approvals = select(Approval.args).where(
        Approval.org_id == org_id, Approval.status == ApprovalStatus.PENDING, Approval.tool_id.endswith(TOOL)
    )
    for args in (await session.execute(approvals)).scalars():
        if isinstance(args, dict) and isinstance(args.get("device"), int):
            asked.add(args["device"])
    return asked


async def run_auto_updates(plane: DevicePlane, gate: Gate) -> int:
    """One pass: invoke the update tool for each outdated agent of every opted-in organisation."""
    latest = latest_version(plane.settings.agent_dist_dir)
    if latest is None:
        return 0
    since = utcnow() - timedelta(hours=plane.settings.agent_auto_update_retry_hours)
    invoked = 0
    async with plane.db.transaction() as session:
        orgs = list(
            (
                await session.execute(select(AgentUpdateSetting.org_id).where(AgentUpdateSetting.auto_update.is_(True)))
            ).scalars()
        )
    for org_id in orgs:
        async with plane.db.transaction() as session:
            asked = await _recently_asked(session, org_id, since)
            stmt = (
                select(Device)
                .where(
                    Device.org_id == org_id,
                    Device.uninstalled_at.is_(None),
                    Device.is_demo.is_(False),
                    Device.quick_support.is_(False),
                )
                .order_by(Device.id)
            )
            due = [
                d.id
                for d in (await session.execute(stmt)).scalars()
                if d.id not in asked and is_outdated(d.agent_version, d.os_family, latest)
            ]
        caller = Caller(user_id=None, label=CALLER_LABEL, role=Role.OPERATOR, org_id=org_id, kind=CallerKind.AUTOMATION)
        for device_id in due:
            async with plane.db.transaction() as session:
                await gate.invoke(
                    session,
                    caller,
                    TOOL,
                    {"device": device_id},
                    reason=f"automatic update to {latest} (organisation setting)",
                )
            invoked += 1
    return invoked
