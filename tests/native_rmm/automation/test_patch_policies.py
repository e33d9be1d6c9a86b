"""Patch policies through the gate: precedence (group > site > customer, oldest first, disabled ones do not
count), 422 on bad categories / cron / time zone / unknown scope, and a window's run on the leader's job:
install through the gate (pending approval -> approved), the per-device report (installed, failed with
the reason, reboot scheduled with a warning, pending reboot), a missed window, and a manual run."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update

from agent.collectors.patches import install_patches_command
from agent.protocol import CommandKind, CommandStatus, PatchStatus
from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from hub.core.models import Customer, Site
from native_rmm.automation.patch_runner import JOB_NAME, PatchPolicyRunner
from native_rmm.models.automation import PatchPolicy, PatchPolicyRun
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device, DeviceGroup, DeviceTag, PatchRecord
from policies.models import Approval
from tests.conftest import Tenancy, TestUser
from tests.native_rmm.conftest import make_device

Clients = Callable[[TestUser], httpx.AsyncClient]


async def _ok(response: httpx.Response, *codes: int) -> Any:
    assert response.status_code in (codes or (200,)), f"{response.status_code} {response.text}"
    return response.json()


async def _auto(admin: httpx.AsyncClient, *tools: str) -> None:
    for tool in tools:
        await _ok(await admin.put(f"/api/v1/policies/native_rmm:{tool}", json={"mode": "auto", "note": "test"}))


async def _customer_with_sites(db: Database, org_id: int, name: str, *sites: str) -> tuple[int, list[int]]:
    async with db.transaction() as session:
        customer = Customer(org_id=org_id, name=name)
        session.add(customer)
        await session.flush()
        rows = [Site(customer_id=customer.id, name=s) for s in sites]
        session.add_all(rows)
        await session.flush()
        return customer.id, [r.id for r in rows]


async def _place(db: Database, device_id: int, site_id: int, *tags: str) -> None:
    async with db.transaction() as session:
        await session.execute(update(Device).where(Device.id == device_id).values(site_id=site_id))
        session.add_all(DeviceTag(device_id=device_id, tag=t) for t in tags)


async def _group(db: Database, org_id: int, name: str, tag: str) -> int:
    async with db.transaction() as session:
        group = DeviceGroup(org_id=org_id, name=name, filters={"tag": tag})
        session.add(group)
        await session.flush()
        return group.id


def _policy(name: str, kind: str, scope_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "scope_kind": kind,
        "scope_id": scope_id,
        "categories": ["security"],
        "cron": "0 3 * * 6",
    } | extra


async def test_precedence_group_beats_site_beats_customer(db: Database, tenancy: Tenancy, client_for: Clients) -> None:
    admin = client_for(tenancy.admin)
    await _auto(admin, "rmm-create-patch-policy", "rmm-update-patch-policy")
    customer, (london, paris) = await _customer_with_sites(db, tenancy.org_id, "Contoso", "London", "Paris")
    kiosk, office, remote, elsewhere = [
        await make_device(db, tenancy.org_id, hostname=h) for h in ("kiosk-1", "office-1", "paris-1", "other-1")
    ]
    await _place(db, kiosk, london, "kiosk")
    await _place(db, office, london)
    await _place(db, remote, paris)
    kiosks = await _group(db, tenancy.org_id, "Kiosks", "kiosk")
    also_kiosks = await _group(db, tenancy.org_id, "Kiosks too", "kiosk")

    async def create(body: dict[str, Any]) -> int:
        outcome = await _ok(await admin.post("/api/v1/rmm/patch-policies", json=body))
        assert outcome["status"] == "done", outcome
        return int(outcome["result"]["id"])

    by_customer = await create(_policy("contoso", "customer", customer))
    by_site = await create(_policy("london", "site", london, reboot="never"))
    by_group = await create(_policy("kiosks", "group", kiosks, reboot="always"))
    by_group_too = await create(_policy("kiosks too", "group", also_kiosks))

    async def governing(device_id: int) -> int | None:
        outcome = await _ok(
            await admin.post(
                "/api/v1/tools/rmm-get-device-patch-policy/invoke", json={"args": {"device_id": device_id}}
            )
        )
        policy = outcome["result"]["policy"]
        return None if policy is None else int(policy["id"])

    assert [await governing(d) for d in (kiosk, office, remote, elsewhere)] == [by_group, by_site, by_customer, None]
    listed = await _ok(await admin.get("/api/v1/rmm/patch-policies"))
    assert [p["id"] for p in listed["result"]["policies"]] == [by_group, by_group_too, by_site, by_customer]
    assert listed["result"]["policies"][2]["scope_name"] == "Contoso / London"
    # A disabled policy does not count: the next group policy governs the kiosk.
    disabled = _policy("kiosks", "group", kiosks, reboot="always", enabled=False)
    await _ok(await admin.put(f"/api/v1/rmm/patch-policies/{by_group}", json=disabled))
    assert await governing(kiosk) == by_group_too


async def test_bad_input_is_422_with_a_path(db: Database, tenancy: Tenancy, client_for: Clients) -> None:
    admin = client_for(tenancy.admin)  # rmm-create-patch-policy keeps its seeded policy: approval
    customer, _ = await _customer_with_sites(db, tenancy.org_id, "Fabrikam", "HQ")
    cases = [
        (_policy("x", "customer", customer, categories=["drivers"]), "categories"),
        (_policy("x", "customer", customer, categories=[]), "categories"),
        (_policy("x", "customer", customer, cron="61 * * * *"), "cron"),
        (_policy("x", "customer", customer, cron="every night"), "cron"),
        (_policy("x", "customer", customer, timezone="Mars/Olympus"), "timezone"),
        (_policy("x", "customer", customer, reboot="sometimes"), "reboot"),
        (_policy("x", "tenant", customer), "scope_kind"),
    ]
    for body, field in cases:
        response = await admin.post("/api/v1/rmm/patch-policies", json=body)
        assert response.status_code == 422 and field in response.text, (field, response.text)
        via_tool = await admin.post("/api/v1/tools/rmm-create-patch-policy/invoke", json={"args": body})
        assert via_tool.status_code == 422 and field in via_tool.text, (field, via_tool.text)
    for kind in ("customer", "site", "group"):
        response = await admin.post("/api/v1/rmm/patch-policies", json=_policy("x", kind, 9999))
        assert response.status_code == 422, response.text
        assert f"unknown scope: no {kind} #9999" in response.text and "Traceback" not in response.text
    out_of_range = await admin.post("/api/v1/rmm/patch-policies", json=_policy("x", "site", 10**12))
    assert out_of_range.status_code == 422
    async with db.sessionmaker() as session:  # nothing that cannot work ever reached an approver
        assert (await session.scalars(select(Approval))).first() is None
    good = await admin.post("/api/v1/rmm/patch-policies", json=_policy("x", "customer", customer))
    assert good.status_code == 202 and good.json()["status"] == "pending_approval", good.text


async def _records(db: Database, device_id: int, patches: dict[str, str | None]) -> None:
    async with db.transaction() as session:
        session.add_all(PatchRecord(device_id=device_id, key=k, title=k, severity=s) for k, s in patches.items())


async def _finish(db: Database, command_id: int, status: CommandStatus, *, stdout: str = "", stderr: str = "") -> None:
    """What the agent's result does to the command (the real agent is in test_patch_policy_e2e)."""
    async with db.transaction() as session:
        await session.execute(
            update(Command)
            .where(Command.id == command_id)
            .values(
                status=status, exit_code=0 if status is CommandStatus.SUCCEEDED else 100, stdout=stdout, stderr=stderr
            )
        )


async def test_window_run_through_the_gate_and_its_report(
    hub: HubContext, db: Database, tenancy: Tenancy, client_for: Clients
) -> None:
    admin, approver = client_for(tenancy.admin), client_for(tenancy.approver)
    await _auto(admin, "rmm-create-patch-policy", "rmm-run-command", "rmm-update-patch-policy", "rmm-run-patch-policy")
    customer, (site,) = await _customer_with_sites(db, tenancy.org_id, "Northwind", "Leeds")
    web, db_host = (
        await make_device(db, tenancy.org_id, hostname="web-1"),
        await make_device(db, tenancy.org_id, hostname="db-1"),
    )
    for device in (web, db_host):
        await _place(db, device, site)
    await _records(db, web, {"openssl": "security", "vim": None})
    await _records(db, db_host, {"KB5037771": "Critical", "KB2267602": None})
    body = _policy("northwind", "customer", customer, categories=["security"], timezone="Europe/London")
    policy = (await _ok(await admin.post("/api/v1/rmm/patch-policies", json=body)))["result"]
    runner = hub.components.get(PatchPolicyRunner)
    async with db.sessionmaker() as session:
        slot = (await session.get(PatchPolicy, policy["id"])).next_run_at  # type: ignore[union-attr]
    assert slot is not None and slot.astimezone().minute == 0

    # A window missed while the hub was down is recorded and installs nothing.
    await runner.tick(now=slot + timedelta(minutes=5))
    async with db.sessionmaker() as session:
        missed = (await session.scalars(select(PatchPolicyRun))).one()
        assert missed.status == "missed" and missed.trigger == "window"
        assert (await session.scalars(select(Command))).first() is None
        next_slot = (await session.get(PatchPolicy, policy["id"])).next_run_at  # type: ignore[union-attr]
    assert next_slot is not None and next_slot > slot + timedelta(minutes=5)

    # The next window opens; the leader's job runs it. rmm-install-patches asks for approval (its seeded policy).
    async with db.transaction() as session:
        await session.execute(update(PatchPolicy).values(next_run_at=utcnow() - timedelta(seconds=2)))
    await hub.scheduler.run_now(JOB_NAME)

    async def report(run_id: int) -> dict[str, Any]:
        out = await _ok(await admin.get(f"/api/v1/rmm/patch-policies/runs/{run_id}"))
        result: dict[str, Any] = out["result"]
        return result

    async with db.sessionmaker() as session:
        run = (await session.scalars(select(PatchPolicyRun).where(PatchPolicyRun.status != "missed"))).one()
    shown = await report(run.id)
    assert shown["run"]["status"] == "running" and shown["run"]["trigger"] == "window"
    rows = {d["device_id"]: d for d in shown["devices"]}
    assert rows[web]["status"] == rows[db_host]["status"] == "pending_approval"
    assert rows[web]["patch_ids"] == ["openssl"] and rows[db_host]["patch_ids"] == ["KB5037771"]  # security only
    assert rows[web]["device"] == "web-1 (Northwind / Leeds)"
    approvals = [rows[web]["approval_id"], rows[db_host]["approval_id"]]
    first = await _ok(await approver.get(f"/api/v1/approvals/{approvals[0]}"))
    assert first["requested_via"] == "automation" and "patch policy 'northwind'" in first["reason"]
    decided = [await _ok(await approver.post(f"/api/v1/approvals/{a}/approve", json={"note": "ok"})) for a in approvals]
    web_cmd, db_cmd = (int(d["result"]["id"]) for d in decided)
    await runner.tick()
    rows = {d["device_id"]: d for d in (await report(run.id))["devices"]}
    assert rows[web]["status"] == rows[db_host]["status"] == "installing"
    assert (rows[web]["command_id"], rows[db_host]["command_id"]) == (web_cmd, db_cmd)

    # The agents answer: the web server installed and needs a reboot, the Windows box failed.
    await _finish(db, web_cmd, CommandStatus.SUCCEEDED, stdout="Setting up openssl ...\nrmmhub: reboot required\n")
    await _finish(
        db, db_cmd, CommandStatus.FAILED, stderr="Downloading\nresult=4 reboot=False\n0x80240022 download failed"
    )
    await runner.tick()
    shown = await report(run.id)
    rows = {d["device_id"]: d for d in shown["devices"]}
    assert rows[db_host]["status"] == "failed"
    assert rows[db_host]["reason"] == "exit code 100: 0x80240022 download failed"
    assert rows[web]["status"] == "reboot_scheduled" and rows[web]["reboot_required"], rows[web]
    async with db.sessionmaker() as session:
        reboot = await session.get(Command, rows[web]["reboot_command_id"])
    assert reboot is not None and reboot.kind is CommandKind.SHELL
    assert reboot.body.startswith('shutdown -r +5 "rmmhub: this computer restarts in 5 minute(s)')
    assert shown["run"]["status"] == "done" and shown["run"]["counts"] == {"failed": 1, "reboot_scheduled": 1}

    # Reboot "never", run by hand: the installed update that wants a reboot is reported pending_reboot.
    await _ok(await admin.put(f"/api/v1/rmm/patch-policies/{policy['id']}", json=body | {"reboot": "never"}))
    manual = await _ok(await admin.post(f"/api/v1/rmm/patch-policies/{policy['id']}/run"))
    assert manual["status"] == "done" and manual["result"]["status"] == "requested", manual
    await _auto(admin, "rmm-install-patches")
    await runner.tick()
    rows = {d["device_id"]: d for d in (await report(manual["result"]["id"]))["devices"]}
    await _finish(db, int(rows[web]["command_id"]), CommandStatus.SUCCEEDED, stdout="rmmhub: reboot required")
    await _finish(db, int(rows[db_host]["command_id"]), CommandStatus.SUCCEEDED, stdout="result=2 reboot=False")
    await runner.tick()
    shown = await report(manual["result"]["id"])
    rows = {d["device_id"]: d for d in shown["devices"]}
    assert rows[web]["status"] == "pending_reboot" and rows[web]["reboot_command_id"] is None
    assert rows[db_host]["status"] == "installed" and not rows[db_host]["reboot_required"]
    assert shown["run"]["trigger"] == "manual" and shown["run"]["status"] == "done"
    assert shown["run"]["requested_by"] == tenancy.admin.username

    # Nothing pending in the categories: nothing to install, no command.
    async with db.transaction() as session:
        await session.execute(update(PatchRecord).values(status=PatchStatus.INSTALLED))
    again = await _ok(await admin.post(f"/api/v1/rmm/patch-policies/{policy['id']}/run"))
    await runner.tick()
    shown = await report(again["result"]["id"])
    assert {d["status"] for d in shown["devices"]} == {"nothing_to_install"} and shown["run"]["status"] == "done"


def test_linux_install_command_reports_a_required_reboot_and_keeps_the_exit_code(tmp_path: Path) -> None:
    """The agent's install command (run here by sh with a stand-in apt-get) says when the OS wants a reboot."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "apt-get").write_text('#!/bin/sh\n[ "$1" = update ] && exit 0\necho "installing $*"\nexit "${RC:-0}"\n')
    (fake / "apt-get").chmod(0o755)
    flag = tmp_path / "reboot-required"
    _, body = install_patches_command(["openssl"], "linux")
    env = {"PATH": f"{fake}:/usr/bin:/bin", "RMMHUB_REBOOT_REQUIRED_FILE": str(flag)}
    quiet = subprocess.run(["sh", "-c", body], env=env, capture_output=True, text=True, check=False)
    assert quiet.returncode == 0 and "reboot required" not in quiet.stdout, quiet
    flag.touch()
    wants = subprocess.run(["sh", "-c", body], env=env | {"RC": "100"}, capture_output=True, text=True, check=False)
    assert wants.returncode == 100 and "rmmhub: reboot required" in wants.stdout, wants


async def test_a_denied_install_is_refused_and_delete_is_never_until_allowed(
    hub: HubContext, db: Database, tenancy: Tenancy, client_for: Clients
) -> None:
    admin, approver = client_for(tenancy.admin), client_for(tenancy.approver)
    await _auto(admin, "rmm-create-patch-policy", "rmm-run-patch-policy")
    customer, (site,) = await _customer_with_sites(db, tenancy.org_id, "Tailspin", "Oslo")
    device = await make_device(db, tenancy.org_id, hostname="osl-1")
    await _place(db, device, site)
    await _records(db, device, {"KB5037771": "Important"})
    policy = (
        await _ok(await admin.post("/api/v1/rmm/patch-policies", json=_policy("tailspin", "customer", customer)))
    )["result"]
    run = (await _ok(await admin.post(f"/api/v1/rmm/patch-policies/{policy['id']}/run")))["result"]
    runner = hub.components.get(PatchPolicyRunner)
    await runner.tick()
    report = (await _ok(await admin.get(f"/api/v1/rmm/patch-policies/runs/{run['id']}")))["result"]
    (row,) = report["devices"]
    assert row["status"] == "pending_approval" and row["patch_ids"] == ["KB5037771"]  # Important is security
    await _ok(await approver.post(f"/api/v1/approvals/{row['approval_id']}/deny", json={"note": "not this week"}))
    await runner.tick()
    report = (await _ok(await admin.get(f"/api/v1/rmm/patch-policies/runs/{run['id']}")))["result"]
    assert report["devices"][0]["status"] == "refused" and "was denied" in report["devices"][0]["reason"]
    assert report["run"]["status"] == "done"
    # Deleting is seeded "never": refused until an admin allows it.
    refused = await admin.delete(f"/api/v1/rmm/patch-policies/{policy['id']}")
    assert refused.status_code == 403 and refused.json()["status"] == "refused", refused.text
    await _auto(admin, "rmm-delete-patch-policy")
    deleted = await _ok(await admin.delete(f"/api/v1/rmm/patch-policies/{policy['id']}"))
    assert deleted["result"] == {"policy_id": policy["id"], "deleted": True}
    async with db.sessionmaker() as session:
        assert (await session.scalars(select(PatchPolicyRun))).first() is None  # runs go with their policy


async def test_a_reboot_waiting_for_approval_is_sent_once_approved(
    hub: HubContext, db: Database, tenancy: Tenancy, client_for: Clients
) -> None:
    admin, approver = client_for(tenancy.admin), client_for(tenancy.approver)
    await _auto(admin, "rmm-create-patch-policy", "rmm-run-patch-policy", "rmm-install-patches")
    customer, (site,) = await _customer_with_sites(db, tenancy.org_id, "Litware", "Rome")
    device = await make_device(db, tenancy.org_id, hostname="rom-1")
    await _place(db, device, site)
    await _records(db, device, {"openssl": "security"})
    body = _policy("litware", "customer", customer, reboot="always", reboot_warning_minutes=10)
    policy = (await _ok(await admin.post("/api/v1/rmm/patch-policies", json=body)))["result"]
    run = (await _ok(await admin.post(f"/api/v1/rmm/patch-policies/{policy['id']}/run")))["result"]
    runner = hub.components.get(PatchPolicyRunner)
    await runner.tick()

    async def row() -> dict[str, Any]:
        report = (await _ok(await admin.get(f"/api/v1/rmm/patch-policies/runs/{run['id']}")))["result"]
        found: dict[str, Any] = report["devices"][0]
        return found

    await _finish(db, int((await row())["command_id"]), CommandStatus.SUCCEEDED, stdout="done")
    await runner.tick()
    waiting = await row()
    assert waiting["status"] == "pending_reboot" and not waiting["reboot_required"]  # "always" reboots anyway
    assert f"waits for approval #{waiting['approval_id']}" in waiting["reason"]
    await _ok(await approver.post(f"/api/v1/approvals/{waiting['approval_id']}/approve", json={"note": "ok"}))
    await runner.tick()
    sent = await row()
    assert sent["status"] == "reboot_scheduled" and sent["reboot_command_id"] is not None
    async with db.sessionmaker() as session:
        reboot = await session.get(Command, sent["reboot_command_id"])
    assert reboot is not None and reboot.body.startswith('shutdown -r +10 "rmmhub: this computer restarts in 10')
