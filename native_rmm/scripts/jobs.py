"""Start-up and watching of the script tools: seed the default library, sync every organisation's
``rmm-script-*`` tools, and re-sync them whenever any replica changes its scripts.

Kept apart from :mod:`.dynamic` (which the script service uses to schedule a sync) because the
library seeding builds on the service: start-up sits above both, so nothing imports in a circle.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.models import Organization
from hub.core.roles import Role
from hub.core.tasks import start_task, stop_task
from native_rmm.events import SCRIPTS_CHANGED
from native_rmm.scripts import dynamic
from native_rmm.scripts.library import seed_default_scripts
from policies.pipeline import Gate

log = logging.getLogger(__name__)


async def load_all(hub: HubContext, gate: Gate) -> None:
    """At start-up: seed the default library into organisations without scripts, then sync every org."""
    async with hub.db.transaction() as session:
        org_ids = list((await session.execute(select(Organization.id).order_by(Organization.id))).scalars())
        for org_id in org_ids:
            system = Caller(user_id=None, label="system", role=Role.ADMIN, org_id=org_id, kind=CallerKind.SYSTEM)
            await seed_default_scripts(session, gate, actor=system)
    for org_id in org_ids:
        await dynamic.resync(hub.db, hub.registry, org_id)


async def watch(hub: HubContext) -> None:
    """Re-sync an organisation's script tools whenever any replica changes its scripts (runs forever)."""
    async with hub.bus.subscribe(SCRIPTS_CHANGED.name) as events:
        async for event in events:
            if event.org_id is None:
                continue
            try:
                await dynamic.resync(hub.db, hub.registry, event.org_id)
            except (SQLAlchemyError, ValueError):  # storage or an invalid tool: logged, the watcher lives on
                log.exception("could not re-sync the script tools of org %s", event.org_id)


def start_watcher(hub: HubContext) -> asyncio.Task[None]:
    """Start :func:`watch` as a background task (the module cancels it on stop)."""
    return start_task(watch(hub), name="native-rmm-script-tools")


async def stop_watcher(task: asyncio.Task[None] | None) -> None:
    """Cancel the watcher task."""
    await stop_task(task)
