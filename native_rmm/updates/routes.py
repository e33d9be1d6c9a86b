"""``/api/v1/rmm/agent-updates``: the organisation's automatic agent update setting (admin)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, SessionDep
from native_rmm.updates import auto

router = APIRouter(tags=["rmm-agent-updates"])


class AgentUpdatesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_update: bool


@router.get("/api/v1/rmm/agent-updates", response_model=auto.AgentUpdateSettings)
async def get_agent_updates(session: SessionDep, admin: AdminDep) -> auto.AgentUpdateSettings:
    """Whether outdated agents are updated automatically (admin)."""
    return await auto.get_settings(session, admin.user.org_id)


@router.put("/api/v1/rmm/agent-updates", response_model=auto.AgentUpdateSettings)
async def put_agent_updates(body: AgentUpdatesBody, session: SessionDep, admin: AdminDep) -> auto.AgentUpdateSettings:
    """Turn automatic agent updates on or off (admin; audited). On: a leader job runs ``rmm-update-agents``
    through the policy gate for each outdated agent."""
    return await auto.set_settings(session, caller=admin.caller(CallerKind.API), auto_update=body.auto_update)
