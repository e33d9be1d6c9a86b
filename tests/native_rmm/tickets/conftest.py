"""Fixtures of the operations tests: a hub with the operations half wired, devices enrolled the real way."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI

from agent.protocol import PROTOCOL_VERSION, EnrollRequest, OsFamily
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.scheduler import Scheduler
from hub.core.settings import Settings
from hub.main import create_app, default_modules
from native_rmm import operations
from native_rmm.devices.enrollment import enroll
from native_rmm.installers import service as installers
from native_rmm.settings import RmmSettings

DeviceFactory = Callable[..., Awaitable[int]]


class _OperationsOnly:
    """Mounts the operations half when ``native_rmm.module`` does not (yet) wire it."""

    name = "native_rmm_operations"

    def __init__(self) -> None:
        self.ops = operations.Operations()

    def routers(self) -> Sequence[APIRouter]:
        return operations.routers()

    async def start(self, hub: HubContext, scheduler: Scheduler) -> None:
        await self.ops.start(hub, scheduler)

    async def stop(self) -> None:
        await self.ops.stop()


def _build(settings: Settings) -> FastAPI:
    modules: list[Any] = default_modules()
    wired = any(getattr(route, "path", None) == "/api/v1/rmm/thresholds" for m in modules for r in m.routers()
                for route in r.routes)  # fmt: skip
    if not wired:
        modules.insert(1, _OperationsOnly())
    return create_app(settings, modules=modules)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The hub app (operations half wired) with its lifespan running."""
    application = _build(settings)
    async with application.router.lifespan_context(application):
        yield application


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
