"""One tool per enabled script: ``rmm-script-<slug>``, scoped to the script's organisation.

Its input schema is the script's parameter schema plus ``device_ids``. The registry follows the
database: :func:`sync_script_tools` makes an organisation's script tools exactly its enabled
scripts (adding, replacing, removing; the registry version changes only when something did).
Script changes call :func:`schedule_sync`, which re-syncs once the change has committed and
announces ``script.changed`` so every other replica (:func:`watch`) re-syncs too.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.bounds import bounded_int_schema
from hub.core.describe import Description
from hub.core.events import Event
from hub.core.registry import Tool, ToolAnnotations, ToolContext, ToolRegistry
from hub.core.roles import Role
from hub.core.uow import SessionSource, Slot, after_commit, publish_after_commit, scope_of, uow_of
from native_rmm.commands.describe import on_devices
from native_rmm.devices.targets import MAX_TARGETS
from native_rmm.models.scripts import SCRIPT_TOOL_PREFIX, Script, ScriptOsType
from native_rmm.scripts import runs
from native_rmm.scripts.schemas import RunResult
from policies.pipeline import Gate

log = logging.getLogger(__name__)

SOURCE = "native_rmm"
TOPIC = "script.changed"
#: Organisations whose tools this session already re-syncs after commit (once per unit of work).
_SYNC_SCHEDULED: Slot[set[int]] = Slot("native_rmm.script_sync", set)
DEVICE_IDS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": bounded_int_schema(),
    "minItems": 1,
    "maxItems": MAX_TARGETS,
    "uniqueItems": True,
    "description": "ids of the devices to run the script on (see rmm-list-devices)",
}
_OS_LABEL = {
    ScriptOsType.WINDOWS: "Windows", ScriptOsType.LINUX: "Linux", ScriptOsType.MACOS: "macOS",
    ScriptOsType.ALL: "any OS",
}  # fmt: skip


def tool_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    """The input schema of a script's tool: its parameters plus ``device_ids``."""
    return {
        "type": "object",
        "properties": {**parameters.get("properties", {}), "device_ids": DEVICE_IDS_SCHEMA},
        "required": [*parameters.get("required", []), "device_ids"],
        "additionalProperties": False,
    }


def script_tool(script: Script) -> Tool:
    """The dynamic tool of one script (the handler runs it through :func:`runs.run_script`)."""
    script_id, tool_id = script.id, f"{SOURCE}:{script.tool_name}"
    description = (
        f"Run the script '{script.name}' ({_OS_LABEL[script.os_type]}, {script.shell.value}) on one or more devices."
        + (f" {script.description.strip()}" if script.description.strip() else "")
        + " Parameters reach the script as environment variables RMM_PARAM_<NAME>."
    )

    async def handler(ctx: ToolContext, args: dict[str, Any]) -> RunResult:
        params = {k: v for k, v in args.items() if k != "device_ids"}
        return await runs.run_script(
            ctx.session, caller=ctx.caller, script_id=script_id, device_ids=args["device_ids"], params=params,
            approval_id=ctx.approval_id, tool_id=tool_id, bus=ctx.bus,
        )  # fmt: skip

    name, shell, body = script.name, script.shell.value, script.body

    async def describe(ctx: ToolContext, args: dict[str, Any]) -> Description:
        params = {k: str(v) for k, v in args.items() if k != "device_ids"}
        return await on_devices(
            ctx.session,
            org_id=ctx.org_id,
            device_ids=args["device_ids"],
            what=f"Run script “{name}” ({shell})",
            body=body,
            body_label=f"Script body ({shell})",
            params=params,
        )

    return Tool(
        source=SOURCE,
        name=script.tool_name,
        describe=describe,
        description=description,
        input_schema=tool_schema(script.parameters),
        handler=handler,
        result_type=RunResult,
        annotations=ToolAnnotations(read_only=False, idempotent=False, open_world=True),
        min_role=Role.OPERATOR,
        org_id=script.org_id,
        title=f"Run script: {script.name}",
        category="scripts",
    )


async def sync_script_tools(session: AsyncSession, registry: ToolRegistry, org_id: int) -> bool:
    """Make the organisation's ``rmm-script-*`` tools exactly its enabled scripts; True if anything changed."""
    scripts = (await session.execute(select(Script).where(Script.org_id == org_id, Script.enabled.is_(True)))).scalars()
    tools = [script_tool(s) for s in scripts]
    return registry.sync_scope(source=SOURCE, org_id=org_id, prefix=SCRIPT_TOOL_PREFIX, tools=tools)


async def resync(db: SessionSource, registry: ToolRegistry, org_id: int) -> bool:
    """Re-read an organisation's scripts in a fresh session and sync its tools."""
    async with db.sessionmaker() as session:
        return await sync_script_tools(session, registry, org_id)


def schedule_sync(session: AsyncSession, gate: Gate, org_id: int) -> None:
    """After ``session`` commits: re-sync this replica's registry and tell the others."""
    db = scope_of(session).database
    synced = uow_of(session).slot(_SYNC_SCHEDULED)
    if org_id in synced:
        return
    synced.add(org_id)

    async def _sync() -> None:
        await resync(db, gate.registry, org_id)

    after_commit(session, _sync)
    publish_after_commit(session, gate.bus, Event(topic=TOPIC, org_id=org_id, data={"org_id": org_id}))
