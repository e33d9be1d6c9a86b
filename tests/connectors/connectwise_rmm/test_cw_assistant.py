"""The built-in assistant model over a ConnectWise RMM tenant (the fake that follows the documented contract).

A ConnectWise endpoint named by the user is resolved like a native device (typos, missing dashes) and
acted on with the ConnectWise tools; the paper trail of a request naming a ticket goes onto the
ConnectWise ticket as a note, through the gate (its own approval), after the script's approval resumed
the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cw_tenant import FakeTenant
from cw_world import CWWorld, connect_org, default_scripts
from sqlalchemy import select

from hub.assistant.models import AssistantEntry, EntryKind
from hub.assistant.service import Assistant, assistant_caller
from hub.assistant.store import create_conversation
from hub.core.caller import Caller
from hub.core.context import HubContext
from hub.core.models import User
from tests.conftest import Tenancy, TestUser
from tests.waiting import eventually

Clients = Callable[[TestUser], httpx.AsyncClient]
COMPANY, SITE = "c0ffee00-0000-4000-8000-000000000001", "517e0000-0000-4000-8000-000000000001"
WS, SRV = "e0000000-0000-4000-8000-0000000000a1", "e0000000-0000-4000-8000-0000000000b2"
TICKET = "7e1a0000-0000-4000-8000-000000001001"


@pytest.fixture
def tenant() -> FakeTenant:
    def endpoint(eid: str, name: str, kind: str, os: str, cpu: float, memory: float, users: list[str]) -> Any:
        return {
            "endpointID": eid,
            "deviceName": name,
            "friendlyName": name,
            "endpointType": kind,
            "companyID": COMPANY,
            "siteID": SITE,
            "os": {"product": os},
            "cpu": cpu,
            "memory": memory,
            "users": users,
        }

    return FakeTenant(
        scripts=default_scripts(),
        companies=[{"id": COMPANY, "name": "Acme Pty Ltd", "friendlyName": "Acme"}],
        endpoints=[
            endpoint(WS, "ACME-WS-01", "Desktop", "Windows 11 Pro", 35.0, 88.0, ["jane"]),
            endpoint(SRV, "ACME-SRV-02", "Server", "Windows Server 2022", 12.0, 40.0, []),
        ],
        tickets=[{"id": TICKET, "number": "1001", "summary": "Reception PC slow", "status": {"name": "New"}}],
    )


async def _caller(hub: HubContext, user: TestUser) -> Caller:
    async with hub.db.transaction() as session:
        row = await session.get(User, user.id)
        assert row is not None
        return assistant_caller(row)


async def _conversation(hub: HubContext, caller: Caller) -> int:
    async with hub.db.transaction() as session:
        return (await create_conversation(session, caller)).id


async def _replies(hub: HubContext, conv: int) -> list[str]:
    async with hub.db.transaction() as session:
        stmt = select(AssistantEntry).where(
            AssistantEntry.conversation_id == conv, AssistantEntry.kind == EntryKind.ASSISTANT
        )
        return [e.text for e in (await session.execute(stmt.order_by(AssistantEntry.id))).scalars()]


async def test_a_connectwise_endpoint_named_with_a_typo_is_checked_with_the_connectwise_tools(
    hub: HubContext, tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    assistant = hub.components.get(Assistant)
    assert assistant.active.builtin
    caller = await _caller(hub, tenancy.operator)
    conv = await _conversation(hub, caller)

    turn = await assistant.send(caller, conv, "is acme-ws1 healthy?")

    assert [(s.tool, s.status.value) for s in turn.steps] == [
        ("rmm-list-devices", "done"),
        ("cw-rmm-list-devices", "done"),
        ("cw-rmm-get-device-state", "done"),
    ]
    assert turn.steps[-1].args == {"endpoint_id": WS}
    assert "ACME-WS-01 is a ConnectWise RMM endpoint: cpu 35 %, memory 88 %." in turn.reply
    assert "Logged on: jane" in turn.reply
    assert tenant.calls("GET", f"/api/platform/v2/device/endpoints/{WS}/cpu-usage")

    who = await assistant.send(caller, conv, "who is logged on acme srv 02")
    assert who.steps[-1].tool == "cw-rmm-get-device-state" and who.steps[-1].args == {"endpoint_id": SRV}

    patches = await assistant.send(caller, conv, "install the patches on ACME-SRV-02")
    assert [s.tool for s in patches.steps] == ["rmm-list-devices", "cw-rmm-list-devices"]
    assert "ConnectWise RMM endpoint" in patches.reply and "no ConnectWise tool" in patches.reply


async def test_a_script_on_a_connectwise_endpoint_leaves_its_paper_trail_on_the_connectwise_ticket(
    hub: HubContext, tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    assistant = hub.components.get(Assistant)
    caller = await _caller(hub, tenancy.operator)
    conv = await _conversation(hub, caller)
    approver = client_for(tenancy.approver)

    turn = await assistant.send(
        caller, conv, "run the disk cleanup on acmews01 keeping 7 days and note it on ticket 1001"
    )

    script = turn.steps[-1]
    assert (script.tool, script.status.value) == ("cw-rmm-script-disk-cleanup", "pending_approval")
    assert script.args == {"parameters": {"days": 7}, "endpoint_ids": [WS]}
    assert "Run ConnectWise RMM script 'Disk Cleanup' on endpoint" in turn.reply
    assert tenant.scheduled == [] and tenant.notes == {}
    ok = await approver.post(f"/api/v1/approvals/{script.approval_id}/approve", json={})
    assert ok.json()["status"] == "executed", ok.text
    assert [b["targets"] for b in tenant.scheduled] == [[WS]]

    async def note_waiting() -> Any:
        pending = (await approver.get("/api/v1/approvals", params={"status": "pending"})).json()
        return [a for a in pending if a["tool_name"] == "cw-rmm-add-ticket-note"]

    (note_approval,) = await eventually(note_waiting, message="the resumed run to ask to note the ConnectWise ticket")
    assert note_approval["args"]["ticket"] == "1001"
    assert note_approval["description"].startswith("Add an internal note to ConnectWise RMM ticket 1001")
    assert tenant.notes == {}  # the note is a write: it waits for its own approval
    ok = await approver.post(f"/api/v1/approvals/{note_approval['id']}/approve", json={})
    assert ok.json()["status"] == "executed", ok.text

    (note,) = tenant.notes[TICKET]
    assert note["visibility"] == 2
    assert "cw-rmm-script-disk-cleanup on ACME-WS-01" in note["detail"] and "ok on " + WS in note["detail"]

    async def reported() -> Any:
        return any("Noted on ticket #1001." in r for r in await _replies(hub, conv))

    await eventually(reported, message="the conversation to report the note")
    assert len(tenant.scheduled) == 1  # the script ran once, the note was posted once
    assert len(tenant.calls("POST", f"/api/platform/v1/service/ticketing/tickets/{TICKET}/notes")) == 1
