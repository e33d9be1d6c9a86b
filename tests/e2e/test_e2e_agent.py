"""The real hub and a real agent process on loopback: enrollment, the first check-in, push latency,
a parameterised script approved by another user, and the 1 MiB output cap.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from agent.collectors._exec import TOOL_TIMEOUT_SECONDS
from agent.collectors.patches import parse_apt_simulate
from agent.protocol import MAX_OUTPUT_BYTES
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.models.metrics import MetricSample
from tests.e2e.conftest import (
    E2EHub,
    StartAgent,
    approve,
    finished_command,
    invoke,
    result_of,
    set_policy,
)
from tests.waiting import eventually

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
    pytest.mark.slow,
]


async def _enrolled_agent(hub: E2EHub, start_agent: StartAgent, tmp_path: Path) -> Device:
    await start_agent("run", "--state-dir", str(tmp_path / "state"), "--hub", hub.url, "--token", hub.base_token)
    return await hub.connected_device()


def _apt_pending() -> int | None:
    """How many updates apt reports on this machine (None without apt).

    Bounded like the agent's own collector (``TOOL_TIMEOUT_SECONDS``): on a loaded machine apt's
    simulation takes over a minute, and the agent waits for it just as long.
    """
    try:
        out = subprocess.run(
            ["apt-get", "-s", "-q", "upgrade"], capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=True
        )
    except (FileNotFoundError, subprocess.CalledProcessError):
        return None
    return len(parse_apt_simulate(out.stdout))


async def test_enroll_first_checkin_inventory_and_metrics(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    apt_pending = asyncio.create_task(asyncio.to_thread(_apt_pending))  # apt takes seconds: ask it meanwhile
    device = await _enrolled_agent(e2e_hub, start_agent, tmp_path)
    viewer = e2e_hub.client(e2e_hub.tenancy.viewer)

    async def inventoried() -> dict[str, Any] | None:
        detail: dict[str, Any] = await result_of(viewer, "rmm-get-device", {"device": device.id})
        return detail if detail["inventory_at"] and detail["ip_addresses"] else None

    detail = await eventually(inventoried, within=30, message="the first check-in's inventory")
    assert detail["status"] == DeviceStatus.ONLINE
    assert detail["hostname"] == socket.gethostname()
    assert detail["os_family"] == "LINUX" and detail["os"] and detail["os_version"]
    assert detail["customer"] == "Unassigned" and detail["site"]
    assert "127.0.0.1" not in detail["ip_addresses"] and detail["ip"] in detail["ip_addresses"]
    assert (detail["hardware"]["cpu_threads"] or 0) >= 1 and detail["hardware"]["ram_bytes"] > 0
    assert detail["agent_version"] and detail["ws_connected"]

    # The installed applications: dpkg's list on this machine, searchable on the server.
    dpkg = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\n"], capture_output=True, text=True, timeout=30)
    expected_apps = {line for line in dpkg.stdout.splitlines() if line}

    async def apps() -> dict[str, Any] | None:
        listed: dict[str, Any] = await result_of(viewer, "rmm-list-device-apps", {"device": device.id, "limit": 5})
        return listed if listed["total"] else None

    listed = await eventually(apps, within=30, message="the application list")
    assert listed["total"] >= min(len(expected_apps), 10)
    bash = await result_of(viewer, "rmm-list-device-apps", {"device": device.id, "search": "bash"})
    assert "bash" in {a["name"] for a in bash["applications"]} or "bash" not in expected_apps

    # Pending patches when apt reports any.
    pending = await asyncio.wait_for(apt_pending, TOOL_TIMEOUT_SECONDS + 30)
    if pending:

        async def patches() -> dict[str, Any] | None:
            listed_patches: dict[str, Any] = await result_of(viewer, "rmm-get-device-patches", {"device": device.id})
            return listed_patches if listed_patches["pending"] else None

        reported = await eventually(patches, within=TOOL_TIMEOUT_SECONDS + 30, message="the pending patches")
        assert reported["pending"] == pending

    # Metrics: the batched writer flushes samples that the state tool then shows.
    async def state() -> dict[str, Any] | None:
        now: dict[str, Any] = await result_of(viewer, "rmm-get-device-state", {"device": device.id, "minutes": 10})
        return now if now.get("samples", 0) >= 2 else None

    health = await eventually(state, within=30, message="two flushed metric samples")
    assert 0 <= health["cpu_percent"] <= 100 and 0 < health["memory_percent"] <= 100
    assert health["disks"] and health["points"]
    async with e2e_hub.db.sessionmaker() as session:
        stored = (await session.execute(select(func.count()).select_from(MetricSample))).scalar_one()
    assert stored >= 2

    listing = await result_of(viewer, "rmm-list-devices", {"status": "online"})
    assert [d["id"] for d in listing["devices"]] == [device.id]


async def test_pushed_command_arrives_in_well_under_a_second(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path, record_property: Any
) -> None:
    device = await _enrolled_agent(e2e_hub, start_agent, tmp_path)
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-run-command", "auto")
    operator = e2e_hub.client(e2e_hub.tenancy.operator)
    receipts, round_trips = [], []
    for n in range(5):
        before = datetime.now(UTC)
        started = time.monotonic()
        queued = await result_of(operator, "rmm-run-command", {"device": device.id, "command": f"echo push-{n}"})
        done = await finished_command(operator, queued["id"], within=10)
        round_trips.append(time.monotonic() - started)
        assert done["status"] == "succeeded" and done["exit_code"] == 0
        assert done["stdout"] == f"push-{n}\n"
        command = await e2e_hub.command(queued["id"])
        assert command.started_at is not None and command.delivered_at is not None
        # started_at is the agent's clock (same machine): enqueue -> the agent has it and starts it.
        receipts.append((command.started_at - command.queued_at).total_seconds())
        assert command.started_at >= before
    record_property("push_receipt_seconds", receipts)
    record_property("push_round_trip_seconds", round_trips)
    print(
        f"\npush enqueue->agent start: {[f'{r * 1000:.0f} ms' for r in receipts]}; "
        f"invoke->result visible: {[f'{r * 1000:.0f} ms' for r in round_trips]}"
    )
    assert max(receipts) < 1.0, receipts
    assert statistics.median(receipts) < 0.5, receipts


async def test_script_with_parameters_approved_by_another_user(
    e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path
) -> None:
    device = await _enrolled_agent(e2e_hub, start_agent, tmp_path)
    t = e2e_hub.tenancy
    admin, operator, approver = e2e_hub.client(t.admin), e2e_hub.client(t.operator), e2e_hub.client(t.approver)
    created = await admin.post(
        "/api/v1/rmm/scripts",
        json={
            "name": "E2E greet",
            "slug": "e2e-greet",
            "os_type": "LINUX",
            "shell": "bash",
            "description": "Greets someone a number of times.",
            "body": 'for _ in $(seq "$RMM_PARAM_TIMES"); do echo "hello $RMM_PARAM_WHO"; done\necho "loud=$RMM_PARAM_LOUD"\n',
            "parameters": {
                "type": "object",
                "properties": {
                    "who": {"type": "string", "maxLength": 40},
                    "times": {"type": "integer", "minimum": 1, "maximum": 5},
                    "loud": {"type": "boolean", "default": False},
                },
                "required": ["who", "times"],
            },
        },
    )
    assert created.status_code == 201, created.text
    script = created.json()
    assert script["tool"] == "rmm-script-e2e-greet"

    outcome = await invoke(
        operator, "rmm-script-e2e-greet", {"device_ids": [device.id], "who": "world", "times": 2}, reason="e2e: greet"
    )
    assert outcome["status"] == "pending_approval", outcome
    denied_self = await operator.post(f"/api/v1/approvals/{outcome['approval_id']}/approve", json={})
    assert denied_self.status_code == 403
    approval = await approve(approver, outcome["approval_id"])
    assert approval["status"] == "executed", approval
    (queued,) = approval["result"]["commands"]

    await finished_command(operator, queued["command_id"], within=20)

    async def run() -> dict[str, Any] | None:
        response = await operator.get("/api/v1/rmm/script-runs", params={"device_id": device.id})
        assert response.status_code == 200, response.text
        runs: list[dict[str, Any]] = response.json()
        return runs[0] if runs and runs[0]["status"] == "succeeded" else None

    shown = await eventually(run, within=20, message="the script run")
    assert shown["script_id"] == script["id"] and shown["command_id"] == queued["command_id"]
    assert shown["stdout"] == "hello world\nhello world\nloud=false\n", shown
    assert shown["exit_code"] == 0 and not shown["truncated"]
    assert shown["env"]["RMM_PARAM_WHO"] == "world" and shown["env"]["RMM_PARAM_TIMES"] == "2"
    listed = await result_of(operator, "rmm-list-script-runs", {"device_id": device.id})
    assert listed["runs"][0]["stdout"].startswith("hello world")


async def test_five_mib_output_is_capped_at_one_mib(e2e_hub: E2EHub, start_agent: StartAgent, tmp_path: Path) -> None:
    device = await _enrolled_agent(e2e_hub, start_agent, tmp_path)
    await set_policy(e2e_hub.client(e2e_hub.tenancy.admin), "rmm-run-command", "auto")
    operator = e2e_hub.client(e2e_hub.tenancy.operator)
    five_mib = "echo start >&2; head -c 5242880 /dev/zero | tr '\\0' x"
    queued = await result_of(operator, "rmm-run-command", {"device": device.id, "command": five_mib})
    shown = await finished_command(operator, queued["id"], within=30, max_chars=MAX_OUTPUT_BYTES)
    assert shown["status"] == "succeeded" and shown["truncated"] is True
    # stdout and stderr share the 1 MiB, in arrival order.
    assert shown["stderr"] == "start\n" and set(shown["stdout"]) == {"x"}
    assert len(shown["stdout"]) + len(shown["stderr"]) == MAX_OUTPUT_BYTES
    stored = await e2e_hub.command(queued["id"])
    assert stored.truncated and len(stored.stdout.encode()) + len(stored.stderr.encode()) == MAX_OUTPUT_BYTES
    # The default view trims further and still says the output was truncated.
    brief = await result_of(operator, "rmm-get-command-result", {"command_id": queued["id"]})
    assert brief["truncated"] is True and brief["output_trimmed"] is True and len(brief["stdout"]) < 8100
