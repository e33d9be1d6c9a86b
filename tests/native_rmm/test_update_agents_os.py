"""``rmm-update-agents`` per OS: Windows and macOS agents (the uv-provisioned virtualenv) get the
signed wheel release alone; Linux gets the single-file release carrying the wheel; a version
published only as a Linux binary skips Windows/macOS with the reason. Through the gate."""

from __future__ import annotations

import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agent.protocol import CommandKind, OsFamily, UpdateManifest
from hub.core.db import Database
from native_rmm.devices.agent_versions import is_outdated
from native_rmm.installers.binary import machine_arch
from native_rmm.models.commands import Command
from native_rmm.plane import DevicePlane
from native_rmm.updates.releases import WHEEL_PLATFORM, publish
from policies.models import PolicyMode
from policies.outcome import InvocationStatus, Outcome
from policies.service import set_policy
from tests.conftest import Tenancy
from tests.native_rmm.conftest import DeviceFactory, caller_of

Invoke = Callable[..., Awaitable[Outcome]]


def _wheel(path: Path, version: str) -> Path:
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("agent/__init__.py", f'__version__ = "{version}"\n')
        wheel.writestr(f"rmmhub_agent-{version}.dist-info/METADATA", f"Name: rmmhub-agent\nVersion: {version}\n")
    return path


async def _manifests(db: Database, ids: list[int]) -> dict[int, UpdateManifest]:
    async with db.transaction() as session:
        rows = (await session.execute(select(Command).where(Command.device_id.in_(ids)))).scalars()
        return {
            c.device_id: UpdateManifest.model_validate_json(c.body) for c in rows if c.kind == CommandKind.UPDATE_AGENT
        }


async def test_each_os_gets_the_release_it_can_apply(
    plane: DevicePlane,
    device_factory: DeviceFactory,
    invoke: Invoke,
    hub: Any,
    db: Database,
    tenancy: Tenancy,
    tmp_path: Path,
) -> None:
    ids = {
        family: await device_factory(tenancy.org_id, os_family=family, hostname=f"{family.value.lower()}-01")
        for family in (OsFamily.WINDOWS, OsFamily.MACOS, OsFamily.LINUX)
    }
    assert all(is_outdated("1.0.0", family, "1.0.1") for family in ids)
    original = plane.settings
    plane.settings = original.model_copy(update={"agent_dist_dir": tmp_path / "dist"})
    try:
        tool = hub.registry.resolve("rmm-update-agents", tenancy.org_id)
        async with db.transaction() as session:
            await set_policy(session, caller=caller_of(tenancy.admin), tool=tool, mode=PolicyMode.AUTO)

        # 1.0.1 only as a Linux single-file agent: Windows and macOS are skipped, saying why.
        binary = tmp_path / "agent-bin"
        binary.write_bytes(b"\x7fELF binary of 1.0.1")
        publish(tmp_path / "dist", binary, "1.0.1")
        outcome = await invoke(tenancy.operator, "rmm-update-agents", {"all": True})
        assert outcome.status is InvocationStatus.DONE, outcome.message
        result = outcome.result
        assert [q["device_id"] for q in result["queued"]] == [ids[OsFamily.LINUX]]
        reasons = {s["device_id"]: s["reason"] for s in result["skipped"]}
        assert set(reasons) == {ids[OsFamily.WINDOWS], ids[OsFamily.MACOS]}
        assert all("need the wheel (rmmhub agent publish --wheel)" in r for r in reasons.values())

        # 1.0.2 as both: Windows and macOS get the wheel alone, Linux the binary carrying the wheel.
        binary.write_bytes(b"\x7fELF binary of 1.0.2")
        publish(tmp_path / "dist", binary, "1.0.2")
        publish(tmp_path / "dist", _wheel(tmp_path / "w.whl", "1.0.2"), "1.0.2", WHEEL_PLATFORM)
        outcome = await invoke(tenancy.operator, "rmm-update-agents", {"all": True})
        assert outcome.status is InvocationStatus.DONE, outcome.message
        assert sorted(q["device_id"] for q in outcome.result["queued"]) == sorted(ids.values())
        manifests = await _manifests(db, list(ids.values()))
        for family in (OsFamily.WINDOWS, OsFamily.MACOS):
            manifest = manifests[ids[family]]
            assert (manifest.version, manifest.platform, manifest.wheel) == ("1.0.2", WHEEL_PLATFORM, None)
            assert manifest.path.endswith("/python/1.0.2/rmmhub_agent.whl") and manifest.signature
        linux = manifests[ids[OsFamily.LINUX]]
        assert linux.version == "1.0.2" and linux.platform == f"linux-{machine_arch()}"
        assert linux.wheel is not None and linux.wheel.platform == WHEEL_PLATFORM
    finally:
        plane.settings = original
