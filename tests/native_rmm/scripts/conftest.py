"""Fixtures of the operations tests: devices enrolled the real way (through the Base installer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from agent.protocol import PROTOCOL_VERSION, EnrollRequest, OsFamily
from hub.core.db import Database
from native_rmm.devices.enrollment import enroll
from native_rmm.installers import service as installers
from native_rmm.settings import RmmSettings

DeviceFactory = Callable[..., Awaitable[int]]


async def make_device(
    db: Database, org_id: int, *, os_family: OsFamily = OsFamily.LINUX, hostname: str = "web-01"
) -> int:
    """Enroll a device through the Base installer, as an agent would; returns its id."""
    async with db.transaction() as session:
        installer = await installers.ensure_base_installer(session, org_id=org_id)
        request = EnrollRequest(
            installer_token=installers.installer_token(session, installer), hostname=hostname, os_family=os_family,
            os_name=os_family.value.title(), os_version="1", agent_version="1.0.0", protocol_version=PROTOCOL_VERSION,
        )  # fmt: skip
        device, _ = await enroll(session, request, settings=RmmSettings(_env_file=None))  # type: ignore[call-arg]
        return device.id


@pytest.fixture
def device_factory(db: Database) -> DeviceFactory:
    """``await device_factory(org_id, os_family=..., hostname=...)`` -> device id."""

    async def make(org_id: int, **kwargs: Any) -> int:
        return await make_device(db, org_id, **kwargs)

    return make
