"""``rmmhub serve --with-local-agent`` (what ``make run`` starts) on a fresh folder and database: within
a minute this machine is an ONLINE device with real inventory and metric samples, and stopping the
hub stops its agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import sys
from collections.abc import Callable

import httpx
import psutil
import pytest
from sqlalchemy import func, select

from hub.core.db import Database
from native_rmm.models.devices import Device, DeviceStatus, InstalledApplication
from native_rmm.models.metrics import MetricSample
from tests.e2e.conftest import HubProcess
from tests.waiting import eventually

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the agent on Linux"),
    pytest.mark.slow,
]


async def test_serve_with_local_agent_shows_this_machine_online(
    db: Database, hub_process: Callable[..., HubProcess]
) -> None:
    process = hub_process()  # a fresh working folder; the database is empty (first start bootstraps it)
    await asyncio.to_thread(process.start, "--with-local-agent")
    assert process.proc is not None
    started = asyncio.get_running_loop().time()
    children: list[psutil.Process] = []
    try:

        async def live_device() -> Device | None:
            async with db.sessionmaker() as session:
                device = (await session.execute(select(Device))).scalar_one_or_none()
                if device is None or device.status is not DeviceStatus.ONLINE or device.inventory_at is None:
                    return None
                if device.last_cpu_percent is None:  # the latest-sample columns land with the batched writer
                    return None
                apps = await session.scalar(
                    select(func.count())
                    .select_from(InstalledApplication)
                    .where(InstalledApplication.device_id == device.id)
                )
                samples = await session.scalar(
                    select(func.count()).select_from(MetricSample).where(MetricSample.device_id == device.id)
                )
            return device if apps and samples else None

        device = await eventually(live_device, within=60, every=0.25, message="this machine as an ONLINE device")
        print(
            f"\nlocal agent: ONLINE with inventory and samples {asyncio.get_running_loop().time() - started:.1f} s "
            "after the hub answered"
        )
        assert device.hostname == socket.gethostname() and device.ip_addresses and device.os_family is not None
        assert device.hardware and device.last_cpu_percent is not None and device.ws_connected
        log = process.workdir / "var" / "local-agent" / "agent.log"
        assert log.exists() and (process.workdir / "var" / "local-agent" / "credential").exists()
        assert "initial admin login" in process.log()
        await _newcomer_sees_it_in_the_ui(process, device)

        children = psutil.Process(process.proc.pid).children(recursive=True)
        running = _command_lines(children)
        agents = [child for child, cmdline in running.items() if "agent" in cmdline]
        assert len(agents) == 1, list(running.values())
        await asyncio.to_thread(process.stop)
        _, alive = await asyncio.to_thread(psutil.wait_procs, agents, 15)
        assert not alive, "stopping the hub stops its local agent"
    finally:
        await asyncio.to_thread(process.stop, 10)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()


async def _newcomer_sees_it_in_the_ui(process: HubProcess, device: Device) -> None:
    """The admin printed on first start signs in: the RMM page lists the machine, its page has sparklines."""
    password = re.search(r"password:\s+(\S+)", process.log())
    assert password is not None
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as browser:
        login = await browser.post("/api/v1/auth/login", json={"username": "admin", "password": password.group(1)})
        assert login.status_code == 200, login.text
        listing = await browser.get("/rmm", params={"tab": "devices"})
        assert listing.status_code == 200 and device.hostname in listing.text
        page = await browser.get(f"/rmm/devices/{device.id}")
        assert page.status_code == 200 and device.hostname in page.text
        metrics = (await browser.get(f"/rmm/devices/{device.id}/metrics")).json()
        assert metrics["status"] == "online" and metrics["latest"]["cpu"] is not None
        assert metrics["series"]["t"] and len(metrics["series"]["cpu"]) == len(metrics["series"]["t"])


def _command_lines(processes: list[psutil.Process]) -> dict[psutil.Process, list[str]]:
    """The command line of each process still running; one that ends while being looked at is left out.

    The hub's children include short-lived ones (a collector running ``dpkg-query``, say) that can exit
    between listing and inspection: gone, a zombie not yet reaped, or no longer ours to read.
    """
    lines: dict[psutil.Process, list[str]] = {}
    for process in processes:
        try:
            lines[process] = process.cmdline()
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return lines
