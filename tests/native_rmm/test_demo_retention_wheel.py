"""Demo devices (service and CLI), sample retention in batches, the served agent wheel."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

import click
import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from hub.core.db import Database, utcnow
from hub.core.settings import get_settings
from native_rmm.cli import demo, installer
from native_rmm.ingest.retention import prune_samples
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.models.metrics import MetricSample
from native_rmm.testing.agentsim import SimAgent, sample_metrics
from policies.outcome import Outcome
from tests.conftest import SECRET, Tenancy


async def _cli(group: click.Group, args: list[str]) -> Result:
    """Run a CLI command in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, group, args, catch_exceptions=False)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db: Database, tenancy: Tenancy) -> Iterator[None]:
    url = db.engine.url.render_as_string(hide_password=False)
    for key, value in {"RMMHUB_DATABASE_URL": url, "RMMHUB_ENV": "dev", "RMMHUB_SECRET_KEY": SECRET}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_demo_seed_via_cli_then_tools(
    cli_env: None, db: Database, tenancy: Tenancy, hub: object, invoke: Callable[..., Awaitable[Outcome]]
) -> None:
    result = await _cli(demo, ["seed", "--hours", "2"])
    assert result.exit_code == 0 and "seeded 6 demo devices" in result.output
    async with db.transaction() as session:
        devices = (await session.execute(select(Device).order_by(Device.hostname))).scalars().all()
        assert all(d.is_demo for d in devices) and {d.status for d in devices} >= {
            DeviceStatus.ONLINE,
            DeviceStatus.OFFLINE,
        }
        assert (await session.execute(select(func.count()).select_from(MetricSample))).scalar_one() == 6 * 120
    listed = await invoke(tenancy.viewer, "rmm-list-devices", {"customer": "demo"})
    assert listed.result["count"] == 6 and all(d["is_demo"] for d in listed.result["devices"])
    state = await invoke(tenancy.viewer, "rmm-get-device-state", {"device": "LON-DC-01"})
    assert state.result["samples"] > 50 and state.result["cpu_trend"] is not None
    cleared = await _cli(demo, ["clear"])
    assert "deleted 6 demo devices" in cleared.output


async def test_installer_cli_prints_commands(cli_env: None) -> None:
    result = await _cli(installer, ["list"])
    assert result.exit_code == 0 and "Base installer (base, uses 0)" in result.output
    assert "| sudo bash" in result.output and "iwr -UseBasicParsing" in result.output


async def test_retention_prunes_in_batches(agent: SimAgent, plane: object, db: Database) -> None:
    for age_days in (40, 35, 31, 5, 0):
        await agent.checkin(metrics=sample_metrics(at=utcnow() - timedelta(days=age_days)))
    await plane.writer.flush()  # type: ignore[attr-defined]
    deleted = await prune_samples(db, older_than=utcnow() - timedelta(days=30), batch_rows=2)
    assert deleted == 3
    async with db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(MetricSample))).scalar_one() == 2


async def test_agent_wheel_is_built_and_served(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/agent/v1/download/agent.whl")
    assert response.status_code == 200, response.text
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "agent/protocol.py" in names and any(n.endswith("METADATA") for n in names)
