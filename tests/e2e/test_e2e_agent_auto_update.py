"""Automatic agent updates, for real: the organisation setting (REST + Admin page) and the leader's
``rmm-agent-auto-update`` job, run as the scheduler runs it (``Scheduler.run_now``), updating the
installed single-file agent from N to N+1 through the policy gate as an automation caller.
"""

from __future__ import annotations

import sys

import pytest
from sqlalchemy import select

from hub.core.audit import AuditEntry
from native_rmm.installers.binary import AgentBinary
from native_rmm.updates.auto import JOB_NAME
from native_rmm.updates.releases import publish
from tests.conftest import LiveServer
from tests.e2e.conftest import E2EHub, eventually, set_policy
from tests.e2e.test_e2e_agent_update import Installed, _version, agent_binary, installed, next_binary
from tests.ui.conftest import ui_login

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the single-file agent is built on Linux"),
    pytest.mark.slow,
]
__all__ = ["agent_binary", "installed", "next_binary"]  # fixtures shared with the manual update test


async def _automation_entries(hub: E2EHub) -> list[AuditEntry]:
    async with hub.db.sessionmaker() as session:
        stmt = select(AuditEntry).where(AuditEntry.tool_id == "native_rmm:rmm-update-agents")
        return [e for e in (await session.execute(stmt)).scalars() if e.via == "automation"]


async def test_setting_on_updates_outdated_agents_through_the_gate(
    e2e_hub: E2EHub, live_server: LiveServer, installed: Installed, next_binary: AgentBinary
) -> None:
    scheduler = live_server.app.state.hub.scheduler
    assert JOB_NAME in [job.name for job in scheduler.jobs]
    admin = e2e_hub.client(e2e_hub.tenancy.admin)
    assert (await admin.get("/api/v1/rmm/agent-updates")).json()["auto_update"] is False
    forbidden = await e2e_hub.client(e2e_hub.tenancy.operator).put(
        "/api/v1/rmm/agent-updates", json={"auto_update": True}
    )
    assert forbidden.status_code == 403
    assert (await admin.put("/api/v1/rmm/agent-updates", json={"auto_update": "maybe"})).status_code == 422
    publish(installed.dist, next_binary.path, "0.1.1")

    # Off: the job leaves the outdated agent alone.
    assert await scheduler.run_now(JOB_NAME) == 0
    # A policy of never: the automation is refused by the gate (and audited as automation).
    await set_policy(admin, "rmm-update-agents", "never")
    saved = await admin.put("/api/v1/rmm/agent-updates", json={"auto_update": True})
    assert saved.status_code == 200 and saved.json()["auto_update"] is True and saved.json()["updated_by"]
    assert await scheduler.run_now(JOB_NAME) == 1
    entries = await _automation_entries(e2e_hub)
    assert [e.event for e in entries if e.event == "tool.refused"], [e.event for e in entries]
    assert await _version(e2e_hub, installed.device_id, "0.1.0")

    # Auto: the job queues the update; the agent updates itself to N+1 and confirms it.
    await set_policy(admin, "rmm-update-agents", "auto")
    assert await scheduler.run_now(JOB_NAME) == 1
    await eventually(lambda: _version(e2e_hub, installed.device_id, "0.1.1"), within=90, message="N+1 checks in")
    assert any(e.event == "tool.executed" for e in await _automation_entries(e2e_hub))
    # Not asked again: up to date now (and a recent update command exists anyway).
    assert await scheduler.run_now(JOB_NAME) == 0


async def test_admin_page_toggles_the_setting(e2e_hub: E2EHub) -> None:
    ui = e2e_hub.client()
    csrf = await ui_login(ui, e2e_hub.tenancy.admin.username, e2e_hub.tenancy.admin.password)
    page = await ui.get("/admin/rmm/installers")
    assert 'id="auto-update"' in page.text and "checked" not in page.text.split('id="auto-update"')[1].split(">")[0]
    saved = await ui.post("/admin/rmm/agent-updates", data={"auto_update": "true", "csrf_token": csrf})
    assert saved.status_code == 200 and "Automatic agent updates on" in saved.text
    assert (await e2e_hub.client(e2e_hub.tenancy.admin).get("/api/v1/rmm/agent-updates")).json()["auto_update"]
    viewer = e2e_hub.client()
    viewer_csrf = await ui_login(viewer, e2e_hub.tenancy.viewer.username, e2e_hub.tenancy.viewer.password)
    refused = await viewer.post("/admin/rmm/agent-updates", data={"auto_update": "", "csrf_token": viewer_csrf})
    assert refused.status_code == 403
