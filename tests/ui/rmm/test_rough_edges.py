"""Rough edges of a first walk-through (issue 10 item 11), one test each."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from agent.protocol import CommandStatus, OsFamily
from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from native_rmm.demo.service import seed_demo_devices
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.models.monitors import CheckState, MonitorKind
from native_rmm.monitors import service as monitors
from native_rmm.monitors.checks import CheckResult
from native_rmm.monitors.schemas import MonitorIn
from native_rmm.scripts import library
from native_rmm.scripts import service as scripts
from policies.pipeline import Gate
from tests.conftest import Tenancy, TestUser
from tests.native_rmm.conftest import caller_of, make_device
from tests.ui.conftest import ui_login
from tests.ui.rmm.conftest import Fleet

UiAs = Callable[[TestUser], Awaitable[httpx.AsyncClient]]
Clients = Callable[[TestUser], httpx.AsyncClient]


@pytest.fixture
def device_factory_ui(db: Database, tenancy: Tenancy) -> Callable[..., Awaitable[int]]:
    """``await device_factory_ui(os_family=..., hostname=...)``: an enrolled device (no check-in) -> its id."""

    async def make(**kwargs: Any) -> int:
        return await make_device(db, tenancy.org_id, **kwargs)

    return make


async def _script_id(hub: HubContext, tenancy: Tenancy) -> int:
    async with hub.db.transaction() as session:
        await library.seed_default_scripts(session, hub.components.get(Gate), actor=caller_of(tenancy.admin))
    async with hub.db.sessionmaker() as session:
        rows = await scripts.list_scripts(session, org_id=tenancy.org_id, enabled=True)
        return next(s.id for s in rows if s.os_type.value in ("LINUX", "ALL"))


async def test_script_dialog_says_choose_a_device_inside_it_and_pre_ticks_the_current_one(
    ui_as: UiAs, tenancy: Tenancy, enroll: Fleet, hub: HubContext
) -> None:
    web = await enroll("LON-WEB-01")
    script_id = await _script_id(hub, tenancy)
    client = await ui_as(tenancy.operator)
    empty = await client.post(f"/rmm/scripts/{script_id}/run", data={"reason": "x"})
    assert empty.status_code == 200 and 'data-testid="dialog-error"' in empty.text
    assert "Choose at least one device" in empty.text
    tab = (await client.get(f"/rmm/devices/{web.device_id}", params={"tab": "commands"})).text
    assert f'hx-get="/rmm/devices/{web.device_id}/run-script"' in tab
    dialog = (await client.get(f"/rmm/devices/{web.device_id}/run-script", params={"script_id": script_id})).text
    assert f'name="device_ids" value="{web.device_id}" checked' in dialog


async def test_shell_list_follows_the_os(
    ui_as: UiAs, tenancy: Tenancy, device_factory_ui: Callable[..., Awaitable[int]]
) -> None:
    win = await device_factory_ui(os_family=OsFamily.WINDOWS, hostname="PC-1")
    linux = await device_factory_ui(os_family=OsFamily.LINUX, hostname="srv-1")
    client = await ui_as(tenancy.operator)
    shells = lambda html: re.findall(r'<select id="cmd-shell".*?</select>', html, re.S)[0]  # noqa: E731
    on_windows = shells((await client.get(f"/rmm/devices/{win}")).text)
    assert 'value="powershell"' in on_windows and 'value="cmd"' in on_windows
    assert 'value="bash"' not in on_windows and 'value="zsh"' not in on_windows
    on_linux = shells((await client.get(f"/rmm/devices/{linux}")).text)
    assert 'value="bash"' in on_linux and 'value="cmd"' not in on_linux and 'value="powershell"' not in on_linux


async def test_uninstall_button_is_disabled_with_the_reason_under_never(
    ui_as: UiAs, tenancy: Tenancy, client_for: Clients, device_factory_ui: Callable[..., Awaitable[int]]
) -> None:
    device = await device_factory_ui(hostname="srv-2")
    client = await ui_as(tenancy.operator)
    html = (await client.get(f"/rmm/devices/{device}")).text
    button = re.search(r'<button[^>]*id="uninstall-btn"[^>]*>', html)
    assert button and " disabled" in button.group(0) and "not allowed by policy" in button.group(0)
    assert 'data-testid="uninstall-why"' in html
    await client_for(tenancy.admin).put("/api/v1/policies/native_rmm:rmm-uninstall-agent", json={"mode": "approval"})
    html = (await client.get(f"/rmm/devices/{device}")).text
    button = re.search(r'<button[^>]*id="uninstall-btn"[^>]*>', html)
    assert button and " disabled" not in button.group(0)


async def test_monitor_alerts_name_the_monitor(ui_as: UiAs, tenancy: Tenancy, db: Database) -> None:
    async with db.transaction() as session:
        data = MonitorIn(name="Shop website", kind=MonitorKind.HTTP, target="http://127.0.0.1:9/", failure_threshold=1)
        monitor = await monitors.create_monitor(session, actor=caller_of(tenancy.admin), data=data)
        await monitors.record_result(session, monitor=monitor, result=CheckResult(CheckState.CRITICAL, "refused"))
    html = (await (await ui_as(tenancy.operator)).get("/rmm", params={"tab": "alerts"})).text
    assert "monitor “Shop website”" in html and "monitor #" not in html


async def test_demo_devices_short_circuit_commands_and_agree_with_last_seen(
    ui_as: UiAs, tenancy: Tenancy, client_for: Clients, db: Database
) -> None:
    async with db.transaction() as session:
        await seed_demo_devices(session, org_id=tenancy.org_id, hours=1)
    async with db.sessionmaker() as session:
        demo = (
            (await session.execute(select(Device).where(Device.status == DeviceStatus.UNRESPONSIVE))).scalars().first()
        )
        online = (await session.execute(select(Device).where(Device.status == DeviceStatus.ONLINE))).scalars().first()
    assert demo is not None and online is not None and demo.last_seen_at is not None
    assert utcnow() - demo.last_seen_at >= timedelta(minutes=2)  # not "last seen just now" while UNRESPONSIVE
    await client_for(tenancy.admin).put("/api/v1/policies/native_rmm:rmm-run-command", json={"mode": "auto"})
    ran = await client_for(tenancy.operator).post(
        "/api/v1/tools/rmm-run-command/invoke", json={"args": {"device": online.id, "command": "uptime"}}
    )
    assert ran.status_code == 200, ran.text
    result = ran.json()["result"]
    assert result["status"] == "cancelled" and "demo device" in result["error"]
    async with db.sessionmaker() as session:
        command = (await session.execute(select(Command))).scalar_one()
    assert command.status is CommandStatus.CANCELLED and command.finished_at is not None


async def test_installers_warn_about_a_loopback_url(app: FastAPI, tenancy: Tenancy) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as local:
        await ui_login(local, "alice", tenancy.admin.password)
        html = (await local.get("/admin/rmm/installers")).text
        assert 'data-testid="loopback-warning"' in html and "RMMHUB_PUBLIC_URL" in html
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rmm.example.com") as public:
        await ui_login(public, "alice", tenancy.admin.password)
        assert 'data-testid="loopback-warning"' not in (await public.get("/admin/rmm/installers")).text


async def test_favicon_is_served(anon: httpx.AsyncClient) -> None:
    icon = await anon.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in icon.content
