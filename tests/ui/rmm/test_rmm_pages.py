"""The RMM pages over httpx against the app (both backends), with devices that enrolled and checked in
through the real agent API. Every action goes through the policy gate; the tests check what the
page shows for each outcome (done, pending approval, refused)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI

from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.tenancy import create_customer, create_site
from native_rmm.devices import service as devices
from native_rmm.installers import service as installers
from native_rmm.models.devices import DeviceStatus
from native_rmm.scripts import library
from native_rmm.testing.agentsim import SimAgent, ok_result
from policies import approvals
from policies.models import PolicyMode
from policies.pipeline import Gate
from policies.service import set_policy
from tests.conftest import Tenancy, TestUser
from tests.ui.rmm.conftest import Fleet

DASH = "\u2013"  # the en dash the pagers print between numbers
UiAs = Callable[[TestUser], Awaitable[httpx.AsyncClient]]


def caller_of(user: TestUser) -> Caller:
    return Caller(user_id=user.id, label=user.username, role=user.role, org_id=user.org_id, kind=CallerKind.UI)


async def test_devices_tab_lists_enrolled_devices(enroll: Fleet, ui_as: UiAs, tenancy: Tenancy) -> None:
    web = await enroll("LON-WEB-01")
    await enroll("MCR-LAP-12")
    client = await ui_as(tenancy.operator)
    page = await client.get("/rmm")
    assert page.status_code == 200
    html = page.text
    assert "LON-WEB-01" in html and "MCR-LAP-12" in html
    row = re.search(rf'<tr data-device-id="{web.device_id}" data-status="(\w+)"', html)
    assert row and row.group(1) == "online"
    assert "10.0.0.17" in html and "0.1.0-sim" in html and "Debian GNU/Linux" in html
    assert 'aria-label="Devices by status"' in html
    filtered = await client.get("/rmm/devices", params={"q": "lon-web"})
    assert "LON-WEB-01" in filtered.text and "MCR-LAP-12" not in filtered.text
    offline = await client.get("/rmm/devices", params={"status": "offline"})
    assert "LON-WEB-01" not in offline.text and "No device matches" in offline.text


async def test_device_list_pages_filters_by_customer_and_flags_demo(
    db: Database, ui_as: UiAs, tenancy: Tenancy, hub: HubContext
) -> None:
    async with db.transaction() as session:
        acme = await create_customer(session, org_id=tenancy.org_id, name="Acme Ltd")
        site = await create_site(session, org_id=tenancy.org_id, customer_id=acme.id, name="Head office")
        admin = caller_of(tenancy.admin)
        for n in range(57):
            await devices.create_device(
                session, org_id=tenancy.org_id, hostname=f"ACME-WS-{n:03d}", actor=admin.actor, site_id=site.id
            )
        demo, _ = await devices.create_device(session, org_id=tenancy.org_id, hostname="DEMO-SRV", actor=admin.actor)
        demo.is_demo, demo.status = True, DeviceStatus.ONLINE
    client = await ui_as(tenancy.viewer)
    first = await client.get("/rmm", params={"tab": "devices"})
    assert f"1{DASH}50 of 58" in first.text
    assert first.text.count('<tr data-device-id="') == 50
    second = await client.get("/rmm/devices", params={"offset": 50})
    assert f"51{DASH}58 of 58" in second.text and "DEMO-SRV" in second.text
    assert 'class="badge badge-info demo-flag"' in second.text
    assert second.headers["HX-Push-Url"] == "/rmm?tab=devices&offset=50"
    by_customer = await client.get("/rmm/devices", params={"customer_id": acme.id})
    assert f"1{DASH}50 of 57" in by_customer.text and "DEMO-SRV" not in by_customer.text
    by_site = await client.get("/rmm/devices", params={"site_id": site.id, "q": "ws-05"})
    assert by_site.text.count('<tr data-device-id="') == 7


async def test_device_detail_system_tab_and_metrics_json(enroll: Fleet, ui_as: UiAs, tenancy: Tenancy) -> None:
    web = await enroll("LON-WEB-01", history_minutes=20)
    client = await ui_as(tenancy.viewer)
    page = await client.get(f"/rmm/devices/{web.device_id}")
    assert page.status_code == 200
    html = page.text
    for text in ("LON-WEB-01", "Debian GNU/Linux", "10.0.0.17", "0.1.0-sim", "Unassigned", "Sim CPU", "eth0"):
        assert text in html, text
    assert 'data-status="online"' in html
    assert (
        'id="remote-btn"' in html
        and 'id="remote-btn" hx-get' in html
        and "disabled" not in html.split('id="remote-btn"')[1].split(">")[0]
    )
    assert 'id="uninstall-btn"' not in html, "viewers get no action buttons"
    assert 'data-testid="gauge-cpu">12%' in html or 'data-testid="gauge-cpu">13%' in html
    assert "uPlot.iife.min.js" in html
    metrics = (await client.get(f"/rmm/devices/{web.device_id}/metrics")).json()
    assert metrics["status"] == "online"
    assert len(metrics["series"]["t"]) == 21 and len(metrics["series"]["cpu"]) == 21
    assert metrics["latest"]["cpu"] == 12.5 and metrics["latest"]["memory_total"] == 16 * 1024**3
    remote = await client.get(f"/rmm/devices/{web.device_id}/remote")
    assert "Open shell session" in remote.text and "policy gate" in remote.text


async def test_applications_search_is_server_side(enroll: Fleet, ui_as: UiAs, tenancy: Tenancy) -> None:
    web = await enroll("LON-WEB-01")
    client = await ui_as(tenancy.viewer)
    tab = await client.get(f"/rmm/devices/{web.device_id}", params={"tab": "applications"})
    assert f"1{DASH}4 of 4 applications" in tab.text and "PostgreSQL 16" in tab.text
    found = await client.get(f"/rmm/devices/{web.device_id}/applications", params={"q": "debian"})
    assert f"1{DASH}2 of 2 applications" in found.text
    assert "nginx" in found.text and "Firefox" not in found.text
    none = await client.get(f"/rmm/devices/{web.device_id}/applications", params={"q": "zzz"})
    assert "No application matches" in none.text


async def test_alert_is_acknowledged_and_resolved_through_the_gate(
    enroll: Fleet, ui_as: UiAs, tenancy: Tenancy
) -> None:
    hot = await enroll("LON-DB-01", cpu=97.0)
    client = await ui_as(tenancy.operator)
    tab = await client.get("/rmm", params={"tab": "alerts"})
    match = re.search(r'<tr id="alert-(\d+)" data-alert-id="\d+" data-alert-status="open">', tab.text)
    assert match, tab.text
    alert_id = int(match.group(1))
    assert "LON-DB-01" in tab.text and "CRITICAL" in tab.text and "CPU at 97.0%" in tab.text
    acked = await client.post(f"/rmm/alerts/{alert_id}/acknowledge", data={"where": "list"})
    assert acked.status_code == 200
    assert 'data-alert-status="acknowledged"' in acked.text and 'data-outcome="done"' in acked.text
    assert "by olga" in acked.text
    device_tab = await client.get(f"/rmm/devices/{hot.device_id}", params={"tab": "alerts"})
    assert f'id="alert-{alert_id}"' in device_tab.text
    resolved = await client.post(f"/rmm/alerts/{alert_id}/resolve", data={"where": "device"})
    assert 'data-alert-status="resolved"' in resolved.text
    assert f'id="alert-{alert_id}"' not in (await client.get("/rmm", params={"tab": "alerts"})).text


async def test_run_command_needs_approval_then_shows_the_command(
    enroll: Fleet, ui_as: UiAs, tenancy: Tenancy, hub: HubContext
) -> None:
    web = await enroll("LON-WEB-01")
    client = await ui_as(tenancy.operator)
    answer = await client.post(f"/rmm/devices/{web.device_id}/command", data={"command": "uptime", "reason": "slow"})
    assert answer.status_code == 200
    match = re.search(r'data-outcome="pending" data-approval-id="(\d+)"', answer.text)
    assert match, answer.text
    approval_id = int(match.group(1))
    assert f"pending approval #{approval_id}" in answer.text
    assert f"/rmm/devices/{web.device_id}/approvals/{approval_id}" in answer.text
    still = await client.get(f"/rmm/devices/{web.device_id}/approvals/{approval_id}")
    assert 'data-outcome="pending"' in still.text
    async with hub.db.transaction() as session:
        await approvals.approve(
            session, hub.components.get(Gate), approver=caller_of(tenancy.approver), approval_id=approval_id
        )
    done = await client.get(f"/rmm/devices/{web.device_id}/approvals/{approval_id}")
    assert 'data-command-status="' in done.text and "uptime" in done.text
    assert f"approval #{approval_id}" in done.text


async def test_uninstall_is_refused_by_the_never_policy(enroll: Fleet, ui_as: UiAs, tenancy: Tenancy) -> None:
    web = await enroll("LON-WEB-01")
    client = await ui_as(tenancy.admin)
    page = await client.get(f"/rmm/devices/{web.device_id}")
    assert 'id="uninstall-btn"' in page.text
    answer = await client.post(f"/rmm/devices/{web.device_id}/uninstall")
    assert 'data-outcome="refused"' in answer.text
    assert "not allowed by policy" in answer.text and "Policies → Tool policies" in answer.text
    viewer = await ui_as(tenancy.viewer)
    by_viewer = await viewer.post(f"/rmm/devices/{web.device_id}/uninstall")
    assert 'data-outcome="refused"' in by_viewer.text and "your role (viewer)" in by_viewer.text


async def test_patches_mark_applied_and_install(enroll: Fleet, ui_as: UiAs, tenancy: Tenancy) -> None:
    web = await enroll("LON-WEB-01")
    client = await ui_as(tenancy.operator)
    tab = await client.get(f"/rmm/devices/{web.device_id}", params={"tab": "patches"})
    assert "2 pending" in tab.text and "openssl" in tab.text
    patch_id = int(re.findall(r'<tr id="patch-(\d+)" data-patch-id="\d+" data-patch-status="pending">', tab.text)[0])
    marked = await client.post(f"/rmm/devices/{web.device_id}/patches/{patch_id}/applied")
    assert 'data-patch-status="installed"' in marked.text and 'data-outcome="done"' in marked.text
    assert "marked by olga" in marked.text
    install = await client.post(f"/rmm/devices/{web.device_id}/patches/install", data={"patch_ids": ["openssl"]})
    assert 'data-outcome="pending"' in install.text and "Install 1 patch(es)" in install.text


async def test_script_runs_tab_and_run_dialog(
    enroll: Fleet, ui_as: UiAs, tenancy: Tenancy, hub: HubContext, app: FastAPI
) -> None:
    web = await enroll("LON-WEB-01")
    async with hub.db.transaction() as session:
        await library.seed_default_scripts(session, hub.components.get(Gate), actor=caller_of(tenancy.admin))
    admin = await ui_as(tenancy.admin)
    scripts_tab = await admin.get("/rmm", params={"tab": "scripts"})
    assert "Top processes (Linux)" in scripts_tab.text and "+ New script" in scripts_tab.text
    script_id = int(re.search(r'data-script-id="(\d+)" data-slug="top-processes-linux"', scripts_tab.text).group(1))  # type: ignore[union-attr]
    operator = await ui_as(tenancy.operator)
    dialog = await operator.get(f"/rmm/scripts/{script_id}/run", params={"device_id": web.device_id})
    assert "How many processes" in dialog.text and 'name="p.count"' in dialog.text and 'name="p.sort_by"' in dialog.text
    assert f'value="{web.device_id}" checked' in dialog.text
    picker = await operator.get(f"/rmm/scripts/{script_id}/devices", params={"q": "web"})
    assert "LON-WEB-01" in picker.text
    bad = await operator.post(f"/rmm/scripts/{script_id}/run", data={"device_ids": [web.device_id], "p.count": "many"})
    assert bad.status_code == 422 and "not a valid integer" in bad.text
    run = await operator.post(
        f"/rmm/scripts/{script_id}/run",
        data={"device_ids": [web.device_id], "p.count": "5", "p.sort_by": "memory", "reason": "slow"},
    )
    match = re.search(r'data-approval-id="(\d+)" data-tool="native_rmm:rmm-script-top-processes-linux"', run.text)
    assert match, run.text
    async with hub.db.transaction() as session:
        await approvals.approve(
            session, hub.components.get(Gate), approver=caller_of(tenancy.approver), approval_id=int(match.group(1))
        )
    runs = await operator.get(f"/rmm/devices/{web.device_id}", params={"tab": "runs"})
    assert "Top processes (Linux)" in runs.text and "count=5 sort_by=memory" in runs.text


async def test_admin_creates_edits_and_disables_a_script(ui_as: UiAs, tenancy: Tenancy, hub: HubContext) -> None:
    admin = await ui_as(tenancy.admin)
    form = {
        "name": "Restart nginx", "os_type": "LINUX", "shell": "bash", "body": "systemctl restart nginx",
        "timeout_seconds": "60", "enabled": ["false", "true"], "description": "restarts the web server",
        "parameters": '{"type": "object", "properties": {"graceful": {"type": "boolean", "default": true}}}',
    }  # fmt: skip
    broken = await admin.post("/rmm/scripts/save", data={**form, "parameters": "{nope"})
    assert broken.status_code == 422 and "not valid JSON" in broken.text
    saved = await admin.post("/rmm/scripts/save", data=form)
    assert saved.status_code == 303, saved.text
    assert hub.registry.resolve("rmm-script-restart-nginx", tenancy.org_id)
    tab = await admin.get("/rmm", params={"tab": "scripts"})
    script_id = int(re.search(r'data-script-id="(\d+)" data-slug="restart-nginx"', tab.text).group(1))  # type: ignore[union-attr]
    assert "graceful" in tab.text
    edit = await admin.get(f"/rmm/scripts/{script_id}/edit")
    assert "systemctl restart nginx" in edit.text
    disabled = await admin.post(f"/rmm/scripts/{script_id}/enabled", data={"enabled": "false"})
    assert "Enable Restart nginx" in disabled.text and 'data-value="disabled"' in disabled.text
    operator = await ui_as(tenancy.operator)
    denied = await operator.get("/rmm/scripts/new")
    assert denied.status_code == 403


async def test_installers_page_shows_commands_and_manages_installers(
    ui_as: UiAs, tenancy: Tenancy, db: Database
) -> None:
    admin = await ui_as(tenancy.admin)
    page = await admin.get("/admin/rmm/installers")
    assert page.status_code == 200
    assert "Base installer" in page.text and "BASE" in page.text
    assert "iwr -UseBasicParsing" in page.text and "curl -fsSL" in page.text and "| sudo bash" in page.text
    assert page.text.count('data-copy="#cmd-') == 3
    async with db.transaction() as session:
        acme = await create_customer(session, org_id=tenancy.org_id, name="Acme Ltd")
        site = await create_site(session, org_id=tenancy.org_id, customer_id=acme.id, name="Leeds")
    created = await admin.post(
        "/admin/rmm/installers",
        data={"name": "Acme Leeds", "scope": f"site:{site.id}", "expires_in_days": "7", "max_uses": "5"},
    )
    assert created.status_code == 200 and "Installer &#39;Acme Leeds&#39; created." in created.text
    installer_id = int(re.search(r'data-installer-id="(\d+)" data-kind="scoped"', created.text).group(1))  # type: ignore[union-attr]
    assert "Acme Ltd / Leeds" in created.text and "uses 0 / 5" in created.text
    old = re.search(rf'id="cmd-{installer_id}-linux"[^>]*>([^<]+)<', created.text).group(1)  # type: ignore[union-attr]
    regenerated = await admin.post(f"/admin/rmm/installers/{installer_id}/regenerate")
    new = re.search(rf'id="cmd-{installer_id}-linux"[^>]*>([^<]+)<', regenerated.text).group(1)  # type: ignore[union-attr]
    assert new != old
    revoked = await admin.post(f"/admin/rmm/installers/{installer_id}/revoke")
    assert "revoked." in revoked.text and f'id="cmd-{installer_id}-linux"' not in revoked.text
    bad = await admin.post("/admin/rmm/installers", data={"name": "x", "max_uses": "lots"})
    assert bad.status_code == 400
    viewer = await ui_as(tenancy.viewer)
    assert (await viewer.get("/admin/rmm/installers")).status_code == 403


async def test_thresholds_are_validated_and_saved(ui_as: UiAs, tenancy: Tenancy) -> None:
    admin = await ui_as(tenancy.admin)
    page = await admin.get("/admin/rmm/thresholds")
    assert "These are the defaults" in page.text and 'name="cpu_warn" value="80.0"' in page.text
    values = {"cpu_warn": "70", "cpu_danger": "85", "memory_warn": "80", "memory_danger": "90",
              "disk_warn": "85", "disk_danger": "95"}  # fmt: skip
    wrong = await admin.post("/admin/rmm/thresholds", data={**values, "disk_warn": "96"})
    assert wrong.status_code == 422
    assert "must be below the danger threshold" in wrong.text and 'name="disk_warn" value="96"' in wrong.text
    saved = await admin.post("/admin/rmm/thresholds", data=values)
    assert saved.status_code == 200 and "Thresholds saved" in saved.text and "by alice" in saved.text
    assert 'name="cpu_warn" value="70.0"' in (await admin.get("/admin/rmm/thresholds")).text
    operator = await ui_as(tenancy.operator)
    assert (await operator.post("/admin/rmm/thresholds", data=values)).status_code == 403


async def test_quick_support_and_sessions_tabs(enroll: Fleet, ui_as: UiAs, tenancy: Tenancy) -> None:
    client = await ui_as(tenancy.viewer)
    sessions = await client.get("/rmm", params={"tab": "sessions"})
    assert "No remote sessions yet." in sessions.text and "Connect button" in sessions.text
    quick = await client.get("/rmm", params={"tab": "quick-support"})
    assert "No quick-support sessions yet." in quick.text
    assert (await client.get("/rmm", params={"tab": "bogus"})).status_code == 422
    assert (await client.get("/rmm/devices/999999")).status_code == 404


async def test_run_command_output_follows_command_events(
    enroll: Fleet, ui_as: UiAs, tenancy: Tenancy, hub: HubContext
) -> None:
    web = await enroll("LON-WEB-01")
    async with hub.db.transaction() as session:
        tool = hub.registry.resolve("rmm-run-command", tenancy.org_id)
        await set_policy(session, caller=caller_of(tenancy.admin), tool=tool, mode=PolicyMode.AUTO)
    client = await ui_as(tenancy.operator)
    answer = await client.post(f"/rmm/devices/{web.device_id}/command", data={"command": "echo hello"})
    match = re.search(r'data-command-id="(\d+)" data-command-status="queued" hx-get="([^"]+)"', answer.text)
    assert match, answer.text
    trigger = f'hx-trigger="command-changed[detail.resync||detail.command_id=={match.group(1)}] from:body"'
    assert trigger in answer.text and "waiting for the agent" in answer.text
    handed = await web.agent.checkin()
    assert [c.body for c in handed.commands] == ["echo hello"]
    reported = await web.agent.report_result(ok_result(handed.commands[0].id, "hello\n"))
    assert reported.status_code in (200, 204), reported.text
    done = await client.get(match.group(2))
    assert 'data-command-status="succeeded"' in done.text and "hello" in done.text and "exit 0" in done.text
    assert "hx-trigger" not in done.text, "a finished command stops following"


async def test_quick_support_devices_are_listed(app: FastAPI, db: Database, ui_as: UiAs, tenancy: Tenancy) -> None:
    async with db.transaction() as session:
        admin = caller_of(tenancy.admin)
        installer = await installers.create_installer(
            session, org_id=tenancy.org_id, name="Call 4711", actor=admin.actor, quick_support=True
        )
        token = installers.installer_token(session, installer)
    agent = SimAgent("http://hub.test", hostname="CUSTOMER-PC", transport=httpx.ASGITransport(app=app))
    try:
        enrolled = await agent.enroll(token, quick_support=True)
    finally:
        await agent.aclose()
    client = await ui_as(tenancy.viewer)
    quick = await client.get("/rmm", params={"tab": "quick-support"})
    assert "CUSTOMER-PC" in quick.text
    assert enrolled.support_code and enrolled.support_code in quick.text
    listed = await client.get("/rmm/devices")
    assert "QUICK-SUPPORT" in listed.text
    assert "End session" not in quick.text, "viewers get no End session button"
    operator = await ui_as(tenancy.operator)
    tab = await operator.get("/rmm", params={"tab": "quick-support"})
    assert f'hx-post="/rmm/devices/{enrolled.device_id}/end-session"' in tab.text
    detail = await operator.get(f"/rmm/devices/{enrolled.device_id}")
    assert 'id="end-session-btn"' in detail.text
    ended = await operator.post(f"/rmm/devices/{enrolled.device_id}/end-session")
    assert 'data-outcome="done"' in ended.text, ended.text
    assert "removes itself" in ended.text


async def test_admin_manages_synthetic_monitors(ui_as: UiAs, tenancy: Tenancy) -> None:
    admin = await ui_as(tenancy.admin)
    empty = await admin.get("/admin/rmm/monitors")
    assert empty.status_code == 200 and "No synthetic monitors yet." in empty.text
    assert 'href="/admin/rmm/monitors"' in empty.text
    bad = await admin.post("/admin/rmm/monitors", data={"name": "Web", "kind": "http", "target": "example.com"})
    assert bad.status_code == 422 and "needs an http:// or https:// URL" in bad.text
    assert 'value="example.com"' in bad.text
    form = {"name": "Acme web", "kind": "http", "target": "https://acme.example/", "expected_status": "200",
            "interval_seconds": "60", "failure_threshold": "2", "content_match": "Welcome"}  # fmt: skip
    created = await admin.post("/admin/rmm/monitors", data=form)
    assert created.status_code == 200 and "Monitor &#39;Acme web&#39; created" in created.text
    monitor_id = int(re.search(r'data-monitor-id="(\d+)"', created.text).group(1))  # type: ignore[union-attr]
    assert "2 failures" in created.text and "“Welcome”" in created.text
    disabled = await admin.post(f"/admin/rmm/monitors/{monitor_id}/enabled", data={"enabled": "false"})
    assert "disabled." in disabled.text and 'data-value="disabled"' in disabled.text
    deleted = await admin.post(f"/admin/rmm/monitors/{monitor_id}/delete")
    assert "deleted." in deleted.text and "No synthetic monitors yet." in deleted.text
    operator = await ui_as(tenancy.operator)
    assert (await operator.get("/admin/rmm/monitors")).status_code == 403
