"""Script discovery: stable slugs, collisions, adds/renames/removals, the registry version, restarts."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from cw_tenant import FakeTenant, shell_script
from cw_world import CWWorld, connect_org

from connectors.connectwise_rmm.client.schemas import ShellScript
from connectors.connectwise_rmm.discovery import assign_slugs
from connectors.connectwise_rmm.manager import ConnectionManager
from connectors.connectwise_rmm.script_tools import MAX_SLUG, slugify
from hub.core.context import HubContext
from hub.core.registry import ToolRegistry
from policies.pipeline import Gate
from tests.conftest import SECRET, Tenancy, TestUser

Clients = Callable[[TestUser], httpx.AsyncClient]
URL = "/api/v1/integrations/connectwise-rmm"
EP1 = "f4b2990c-075a-4132-967c-2fa3431e89df"
SPOOLER = "bbbb2222-0000-4000-8000-000000000002"


def _script_names(hub: HubContext, org_id: int) -> list[str]:
    return sorted(t.name for t in hub.registry.visible(org_id) if t.name.startswith("cw-rmm-script-"))


def test_slugify_is_llm_safe_and_bounded() -> None:
    assert slugify("Disk Cleanup (v2) — Ünïcode!") == "disk-cleanup-v2-unicode"
    assert slugify("   ") == "script" and slugify("***") == "script"
    long = slugify("Reset " + "very long name " * 10)
    assert len(long) <= MAX_SLUG and not long.endswith("-")


def test_collisions_resolve_deterministically_whatever_the_order() -> None:
    a = ShellScript.model_validate({"templateId": "aaaa1111-x", "name": "Disk Cleanup"})
    b = ShellScript.model_validate({"templateId": "bbbb2222-y", "name": "disk cleanup!"})
    expected = {"aaaa1111-x": "disk-cleanup", "bbbb2222-y": "disk-cleanup-bbbb2222"}
    assert assign_slugs([a, b], {}) == expected
    assert assign_slugs([b, a], {}) == expected


async def test_rediscover_adds_renames_and_removes_with_stable_slugs(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext
) -> None:
    admin = client_for(tenancy.admin)
    await connect_org(admin, tenant)
    assert _script_names(hub, tenancy.org_id) == ["cw-rmm-script-disk-cleanup", "cw-rmm-script-restart-print-spooler"]

    unchanged_version = hub.registry.version
    same = (await admin.post(f"{URL}/rediscover")).json()
    assert (same["added"], same["updated"], same["removed"]) == (0, 0, 0)
    assert hub.registry.version == unchanged_version

    tenant.scripts = [
        tenant.scripts[0],  # Disk Cleanup: unchanged
        shell_script(SPOOLER, "Restart Spooler Service"),  # renamed
        shell_script("dddd4444-0000-4000-8000-000000000004", "Disk Cleanup"),  # new, same name as an existing one
        shell_script("eeee5555-0000-4000-8000-000000000005", "Flush DNS"),  # new
    ]
    r = await admin.post(f"{URL}/rediscover")
    assert r.status_code == 200, r.text
    counts = r.json()
    assert (counts["scripts"], counts["added"], counts["updated"], counts["removed"], counts["renamed"]) == (
        4,
        2,
        1,
        0,
        1,
    )
    assert hub.registry.version > unchanged_version
    assert _script_names(hub, tenancy.org_id) == [
        "cw-rmm-script-disk-cleanup",
        "cw-rmm-script-disk-cleanup-dddd4444",
        "cw-rmm-script-flush-dns",
        "cw-rmm-script-restart-spooler-service",
    ]

    tenant.scripts = [s for s in tenant.scripts if s["name"] != "Flush DNS"]
    version = hub.registry.version
    removed = (await admin.post(f"{URL}/rediscover")).json()
    assert removed["removed"] == 1 and removed["added"] == 0
    assert "cw-rmm-script-flush-dns" not in _script_names(hub, tenancy.org_id)
    assert hub.registry.version > version
    status = (await admin.get(URL)).json()
    assert status["last_discovery_counts"]["removed"] == 1 and status["script_tools"] == 3


async def test_removed_or_renamed_scripts_fail_their_pending_approvals_clearly(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    admin, olga, bob = client_for(tenancy.admin), client_for(tenancy.operator), client_for(tenancy.approver)
    await connect_org(admin, tenant)
    args = {"args": {"endpoint_ids": [EP1], "parameters": {"days": 3}}, "reason": "disk full"}
    cleanup = (await olga.post("/api/v1/tools/cw-rmm-script-disk-cleanup/invoke", json=args)).json()
    spooler = (
        await olga.post(
            "/api/v1/tools/cw-rmm-script-restart-print-spooler/invoke", json={"args": {"endpoint_ids": [EP1]}}
        )
    ).json()
    assert cleanup["status"] == spooler["status"] == "pending_approval"

    tenant.scripts = [shell_script(SPOOLER, "Spooler Restart")]  # Disk Cleanup deleted, spooler renamed
    counts = (await admin.post(f"{URL}/rediscover")).json()
    assert counts["failed_approvals"] == 2

    gone = (await bob.get(f"/api/v1/approvals/{cleanup['approval_id']}")).json()
    assert gone["status"] == "failed"
    assert "'Disk Cleanup' no longer exists" in gone["error"] and "nothing was run" in gone["error"]
    renamed = (await bob.get(f"/api/v1/approvals/{spooler['approval_id']}")).json()
    assert renamed["status"] == "failed" and "now cw-rmm-script-spooler-restart" in renamed["error"]

    late = await bob.post(f"/api/v1/approvals/{cleanup['approval_id']}/approve", json={})
    assert late.status_code == 409
    assert tenant.scheduled == []


async def test_tools_come_back_after_a_restart_without_the_network(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    before = {t.id: t.input_schema for t in hub.registry.visible(tenancy.org_id) if t.source == "connectwise_rmm"}
    seen = len(tenant.requests)

    registry = ToolRegistry()
    restarted = ConnectionManager(
        db=hub.db,
        registry=registry,
        bus=hub.bus,
        gate=hub.components.get(Gate),
        secret_key=SECRET,
        client_factory=cw_world.build,
    )
    try:
        assert await restarted.load_all() == 1
        assert {t.id: t.input_schema for t in registry.visible(tenancy.org_id)} == before
        assert len(tenant.requests) == seen  # nothing fetched: the token is minted on first use
        companies = await restarted.client_for(tenancy.org_id).list_companies()
        assert companies[0].name == "Acme Pty Ltd"
    finally:
        await restarted.close()


async def test_scheduled_discovery_updates_every_connection(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    tenant.scripts.append(shell_script("ffff6666-0000-4000-8000-000000000006", "Collect Logs"))
    assert await hub.scheduler.run_now("cw-rmm-discovery") == 1
    assert "cw-rmm-script-collect-logs" in _script_names(hub, tenancy.org_id)


async def test_scheduled_discovery_marks_a_revoked_key_as_error(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext
) -> None:
    await connect_org(client_for(tenancy.admin), tenant)
    manager: ConnectionManager = hub.components.get(ConnectionManager)
    manager._orgs.clear()  # the next call signs in again, with a key that was revoked meanwhile
    tenant.client_secret = "rotated"
    await hub.scheduler.run_now("cw-rmm-discovery")
    status = (await client_for(tenancy.admin).get(URL)).json()
    assert status["status"] == "error"
    assert "HTTP 401" in status["last_error"] and "Client authentication failed" in status["last_error"]
    assert status["script_tools"] == 2  # the tools stay; each call explains the failure


async def test_an_unusable_parameter_schema_falls_back_to_free_form(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, hub: HubContext
) -> None:
    tenant.scripts = [shell_script("abcd0000-0000-4000-8000-000000000009", "Broken Params", schema="{not json")]
    await connect_org(client_for(tenancy.admin), tenant)
    tool = hub.registry.resolve("cw-rmm-script-broken-params", tenancy.org_id)
    assert tool.input_schema["properties"]["parameters"]["additionalProperties"] is True
    assert "free-form" in tool.description and "not valid JSON" in tool.description
