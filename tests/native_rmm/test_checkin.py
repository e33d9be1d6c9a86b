"""Check-ins populate inventory, applications, patches and metrics (after the batched writer flushes)."""

from __future__ import annotations

from sqlalchemy import func, select

from agent.protocol import Application, Patch, PatchStatus
from hub.core.db import Database
from native_rmm.models.devices import Device, DeviceStatus, InstalledApplication, PatchRecord
from native_rmm.models.metrics import MetricSample
from native_rmm.plane import DevicePlane
from native_rmm.testing.agentsim import SimAgent, sample_inventory, sample_metrics

APPS = [Application(name="nginx", version="1.24", publisher="Debian"), Application(name="openssl", version="3.0")]
PATCHES = [Patch(id="openssl", title="openssl 3.0.15", severity="important"), Patch(id="curl", title="curl 8.1")]


async def test_first_checkin_populates_everything(agent: SimAgent, plane: DevicePlane, db: Database) -> None:
    # The check-in answers with its sample still queued: the writer's own flush (every ingest_flush_seconds)
    # would otherwise race the count below.
    async with plane.writer.held():
        answer = await agent.checkin(
            inventory=sample_inventory("SIM-01"), applications=APPS, patches=PATCHES, metrics=sample_metrics(cpu=33.0)
        )
        assert answer.commands == []
        assert answer.applications_hash is not None and answer.patches_hash is not None
        assert answer.inventory_requested is False
        async with db.transaction() as session:
            assert (await session.execute(select(func.count()).select_from(MetricSample))).scalar_one() == 0
        assert plane.writer.pending == 1
    await plane.writer.flush()
    async with db.transaction() as session:
        device = await session.get(Device, agent.device_id)
        assert device is not None
        assert device.os_name == "Debian GNU/Linux" and device.primary_ip == "10.0.0.17"
        assert device.hardware["serial_number"] == "SIM-0001"
        assert device.last_cpu_percent == 33.0 and device.status is DeviceStatus.ONLINE
        apps = (await session.execute(select(InstalledApplication.name).order_by(InstalledApplication.name))).scalars()
        assert list(apps) == ["nginx", "openssl"]
        patches = (await session.execute(select(PatchRecord).order_by(PatchRecord.key))).scalars().all()
        assert [(p.key, p.status) for p in patches] == [("curl", PatchStatus.PENDING), ("openssl", PatchStatus.PENDING)]
        samples = (await session.execute(select(MetricSample))).scalars().all()
        assert len(samples) == 1 and samples[0].disk_percent == 55.0


async def test_lists_are_stored_only_when_their_hash_changes(agent: SimAgent, plane: DevicePlane, db: Database) -> None:
    first = await agent.checkin(inventory=sample_inventory("SIM-01"), applications=APPS, patches=PATCHES)
    again = await agent.checkin()  # hashes unchanged: no lists sent
    assert again.applications_hash == first.applications_hash
    await agent.checkin(patches=PATCHES[:1])  # curl disappeared from the pending list: installed
    await plane.writer.flush()
    async with db.transaction() as session:
        curl = (await session.execute(select(PatchRecord).where(PatchRecord.key == "curl"))).scalar_one()
        assert curl.status is PatchStatus.INSTALLED and curl.installed_at is not None
        assert (await session.execute(select(func.count()).select_from(MetricSample))).scalar_one() == 3


async def test_inventory_is_requested_until_sent(agent: SimAgent) -> None:
    assert (await agent.checkin()).inventory_requested is True
    assert (await agent.checkin(inventory=sample_inventory("SIM-01"))).inventory_requested is False
    assert (await agent.checkin()).inventory_requested is False
