"""Remote-session records and pages: the tool writes the row, relay reports build the trail, the pages
list and show it, Connect and End go through the gate; demo devices short-circuit; standalone relays
post signed batches."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import select

from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.tickets import SessionEvent, SessionEventBatch, SessionEventKind, TicketRole, sign_events, verify
from native_rmm.devices import service as devices
from native_rmm.models.devices import DeviceStatus
from native_rmm.models.remote import ConsentScope, RemoteSession
from native_rmm.remote import service as records
from policies.models import PolicyMode
from policies.service import set_policy
from tests.conftest import SECRET, Tenancy, TestUser
from tests.ui.rmm.conftest import Fleet

UiAs = Callable[[TestUser], Awaitable[httpx.AsyncClient]]


def caller_of(user: TestUser) -> Caller:
    return Caller(user_id=user.id, label=user.username, role=user.role, org_id=user.org_id, kind=CallerKind.UI)


async def auto(hub: HubContext, tenancy: Tenancy, *tools: str) -> None:
    async with hub.db.transaction() as session:
        for name in tools:
            tool = hub.registry.resolve(name, tenancy.org_id)
            await set_policy(session, caller=caller_of(tenancy.admin), tool=tool, mode=PolicyMode.AUTO)


def event(sid: str, kind: SessionEventKind, **kw: object) -> SessionEvent:
    return SessionEvent(session=sid, kind=kind, at=time.time(), **kw)  # type: ignore[arg-type]


async def test_session_row_trail_pages_connect_and_end(
    enroll: Fleet, ui_as: UiAs, tenancy: Tenancy, hub: HubContext, db: Database
) -> None:
    web = await enroll("LON-WEB-01")
    await auto(hub, tenancy, "rmm-open-shell-session", "rmm-join-remote-session", "rmm-end-remote-session")
    operator = await ui_as(tenancy.operator)
    opened = await operator.post(f"/rmm/devices/{web.device_id}/remote/shell/ticket")
    grant = opened.json()
    assert grant["status"] == "done" and verify(SECRET, grant["ticket"]).role is TicketRole.CONTROLLER
    async with db.sessionmaker() as session:
        row = await session.scalar(select(RemoteSession).where(RemoteSession.sid == grant["session"]))
    assert row is not None and row.status.value == "pending" and row.opened_by == tenancy.operator.username
    # The relay's reports (as a standalone node would post them, signed with the shared secret).
    batch = SessionEventBatch(events=[
        event(row.sid, SessionEventKind.OPENED, detail="shell"),
        event(row.sid, SessionEventKind.VIEWER_JOINED, user="olga", role=TicketRole.CONTROLLER, viewers=1),
        event(row.sid, SessionEventKind.ELEVATION_USED, detail="the shell runs as root"),
        event(row.sid, SessionEventKind.FILE_TRANSFERRED, user="olga",
              data={"name": "a.txt", "size": 3, "sha256": "ab" * 32, "direction": "download"}),
    ]).model_dump_json().encode()  # fmt: skip
    anonymous = httpx.AsyncClient(transport=operator._transport, base_url=str(operator.base_url))
    forged = await anonymous.post("/relay/v1/events", content=batch, headers={"X-Relay-Signature": "0" * 64})
    assert forged.status_code == 403
    posted = await anonymous.post(
        "/relay/v1/events", content=batch, headers={"X-Relay-Signature": sign_events(SECRET, batch)}
    )
    assert posted.status_code == 200 and posted.json() == {"stored": 4}
    await anonymous.aclose()
    listing = await operator.get("/remote-sessions")
    assert f'data-session-id="{row.id}" data-status="active"' in listing.text and "ELEVATED" in listing.text
    assert "olga" in listing.text and "data-end-session" not in listing.text  # End is for admins
    detail = await operator.get(f"/remote-sessions/{row.id}")
    assert 'data-event="file-transferred"' in detail.text and "a.txt" in detail.text
    connect = await operator.post(f"/remote-sessions/{row.id}/connect")
    assert 'id="remote-window-link"' in connect.text and f"/rmm/remote/{web.device_id}#kind=shell" in connect.text
    admin = await ui_as(tenancy.admin)
    assert "data-end-session" in (await admin.get("/rmm", params={"tab": "sessions"})).text
    ended = await admin.post(f"/remote-sessions/{row.id}/end")
    assert "no live remote session" in ended.text  # the embedded relay has no such live session
    await hub.components.get(records_sink()).deliver([event(row.sid, SessionEventKind.ENDED, detail="ended by olga")])
    after = await operator.get(f"/remote-sessions/{row.id}")
    assert "ENDED" in after.text and "ended by olga" in after.text
    late = await operator.post(f"/remote-sessions/{row.id}/connect")
    assert "has ended" in late.text


def records_sink() -> type:
    from hub.core.tickets import RemoteEventSink

    return RemoteEventSink


async def test_demo_device_short_circuits_with_a_note(ui_as: UiAs, tenancy: Tenancy, hub: HubContext) -> None:
    async with hub.db.transaction() as session:
        demo, _ = await devices.create_device(
            session, org_id=tenancy.org_id, hostname="DEMO-SRV", actor=caller_of(tenancy.admin).actor
        )
        demo.is_demo, demo.status = True, DeviceStatus.ONLINE
    await auto(hub, tenancy, "rmm-open-screen-session")
    operator = await ui_as(tenancy.operator)
    answer = await operator.post(f"/rmm/devices/{demo.id}/remote/screen")
    assert 'id="remote-note"' in answer.text and "demo device" in answer.text
    assert "remote-window-link" not in answer.text
    listing = await operator.get("/remote-sessions")
    assert 'data-status="ended"' in listing.text and "no relay was dialled" in listing.text


async def test_consent_rule_most_specific_scope_wins(enroll: Fleet, tenancy: Tenancy, hub: HubContext) -> None:
    web = await enroll("LON-WEB-02")
    actor = caller_of(tenancy.admin).actor
    async with hub.db.transaction() as session:
        device = await devices.get_device(session, org_id=tenancy.org_id, device_id=web.device_id)
        assert not await records.consent_required(session, org_id=tenancy.org_id, device=device)
        await records.set_consent_rule(session, org_id=tenancy.org_id, scope=ConsentScope.SITE,
                                       scope_id=device.site_id, required=True, actor=actor)  # fmt: skip
        assert await records.consent_required(session, org_id=tenancy.org_id, device=device)
        await records.set_consent_rule(session, org_id=tenancy.org_id, scope=ConsentScope.DEVICE,
                                       scope_id=device.id, required=False, actor=actor)  # fmt: skip
        assert not await records.consent_required(session, org_id=tenancy.org_id, device=device)
        await records.set_consent_rule(session, org_id=tenancy.org_id, scope=ConsentScope.DEVICE,
                                       scope_id=device.id, required=None, actor=actor)  # fmt: skip
        assert await records.consent_required(session, org_id=tenancy.org_id, device=device)
