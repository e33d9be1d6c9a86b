"""An alert rule end to end with the real agent: threshold breach -> rule -> native ticket + email (real
SMTP on loopback) + remediation script pending approval -> approved -> the script runs on the agent ->
the alert auto-resolves -> the ticket is closed with a note. The hub runs with its scheduler (so the
rule engine and the outbox run as in production, as leader); both database backends.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.agent.agent_fakes import StartAgent
from tests.conftest import LiveServer, Tenancy
from tests.e2e.conftest import E2EHub, approve, base_token, finished_command, set_policy
from tests.hub.notify.conftest import Inbox
from tests.native_rmm.automation.conftest import json_of
from tests.waiting import eventually

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
    pytest.mark.slow,
]


async def test_breach_rule_ticket_email_remediation_resolve_close(
    leader_hub: LiveServer,
    db: Any,
    tenancy: Tenancy,
    start_agent: StartAgent,
    smtp_server: tuple[Controller, Inbox],
    tmp_path: Path,
) -> None:
    hub = E2EHub(leader_hub.url, db, tenancy, await base_token(db, tenancy.org_id))
    try:
        await _run(hub, start_agent, smtp_server, tmp_path)
    finally:
        await hub.close()


async def _run(hub: E2EHub, launch: StartAgent, smtp: tuple[Controller, Inbox], tmp_path: Path) -> None:
    t = hub.tenancy
    admin, approver = hub.client(t.admin), hub.client(t.approver)
    controller, inbox = smtp
    # The MSP lets automation open tickets and notify without asking; scripts still need approval.
    await set_policy(admin, "native_rmm:rmm-create-ticket", "auto")
    await set_policy(admin, "native_rmm:rmm-update-ticket", "auto")
    await set_policy(admin, "notify:notify-post-message", "auto")
    channel = await json_of(
        await admin.post(
            "/api/v1/notifications/channels",
            json={
                "name": "noc mail",
                "kind": "email",
                "password": "s3cret",
                "email": {
                    "host": "127.0.0.1",
                    "port": controller.port,
                    "security": "none",
                    "username": "mailer",
                    "sender": "rmmhub@example.test",
                    "recipients": ["noc@example.test"],
                },
            },
        ),
        201,
    )
    await json_of(
        await admin.post(
            "/api/v1/rmm/scripts",
            json={
                "name": "Free memory",
                "slug": "free-memory",
                "os_type": "LINUX",
                "shell": "bash",
                "body": 'echo "remediating for $RMM_PARAM_WHY"\n',
                "parameters": {"type": "object", "properties": {"why": {"type": "string"}}, "required": ["why"]},
            },
        ),
        201,
    )
    rule = await json_of(
        await admin.post(
            "/api/v1/rmm/alert-rules",
            json={
                "name": "memory critical",
                "match": {"severities": ["critical"], "metrics": ["memory"]},
                "actions": [
                    {"kind": "ticket", "priority": "high"},
                    {"kind": "notify", "channel_id": channel["channel"]["id"]},
                    {
                        "kind": "script",
                        "script": "free-memory",
                        "params": {"why": "memory"},
                        "cooldown_minutes": 60,
                        "max_attempts": 2,
                    },
                ],
            },
        ),
        202,
    )
    # Creating a rule is a write the classifier sends to approval: another approver allows it.
    assert rule["status"] == "pending_approval", rule
    rule_id = (await approve(approver, rule["approval_id"]))["result"]["id"]

    # A breach from the real agent: memory thresholds below what any machine uses.
    await json_of(await admin.put("/api/v1/rmm/thresholds", json={"memory_warn": 1, "memory_danger": 2}))
    await launch("run", "--state-dir", str(tmp_path / "state"), "--hub", hub.url, "--token", hub.base_token)
    device = await hub.connected_device()

    async def alert() -> dict[str, Any] | None:
        rows = await json_of(await admin.get("/api/v1/rmm/alerts", params={"device_id": device.id}))
        mem = [a for a in rows if a["metric"] == "memory" and a["severity"] == "critical"]
        return mem[0] if mem else None

    raised = await eventually(alert, within=30, message="a critical memory alert")

    async def steps() -> list[dict[str, Any]] | None:
        runs = await json_of(await admin.get(f"/api/v1/rmm/alert-rules/{rule_id}/runs"))
        return runs if len(runs) >= 3 else None

    runs = sorted(await eventually(steps, within=30, message="the rule's three steps"), key=lambda r: r["action_index"])
    assert [(r["action"], r["status"]) for r in runs] == [
        ("ticket", "done"),
        ("notify", "done"),
        ("script", "pending_approval"),
    ]
    ticket_id = runs[0]["ticket_id"]
    ticket = await json_of(await admin.get(f"/api/v1/rmm/tickets/{ticket_id}"))
    assert raised["id"] in ticket["alert_ids"] and ticket["priority"] == "high"
    await eventually(lambda: inbox.messages, within=30, message="the alert email")
    assert b"[critical]" in inbox.messages[0]

    # The approval was requested by automation on the owner's behalf; another approver decides.
    approval = await json_of(await approver.get(f"/api/v1/approvals/{runs[2]['approval_id']}"))
    assert approval["requested_via"] == "automation"
    decided = await approve(approver, runs[2]["approval_id"])
    (queued,) = decided["result"]["commands"]
    done = await finished_command(approver, queued["command_id"], within=30)
    assert done["status"] == "succeeded" and "remediating for memory" in done["stdout"]

    # The condition clears (thresholds back above the machine's use): the alert resolves, the ticket closes.
    await json_of(await admin.put("/api/v1/rmm/thresholds", json={"memory_warn": 98, "memory_danger": 99.9}))

    async def closed() -> dict[str, Any] | None:
        shown = await json_of(await admin.get(f"/api/v1/rmm/tickets/{ticket_id}"))
        return shown if shown["status"] == "closed" else None

    final = await eventually(closed, within=40, message="the ticket closed by the rule")
    assert any("resolved automatically" in c["body"] for c in final["comments"]), final["comments"]
    resolved = await json_of(await admin.get(f"/api/v1/rmm/alerts/{raised['id']}"))
    assert resolved["status"] == "resolved" and resolved["auto_resolved"]
