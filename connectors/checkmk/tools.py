"""The Checkmk tools (thin wrappers over :mod:`connectors.checkmk.service`), one table like the
ConnectWise connector's ``STATIC_TOOLS``. Registered once for every organisation; each call works on the
caller's organisation's site and says what to do when none is connected.

``checkmk-list-hosts`` reads the synced hosts (state as of the last sync); ``checkmk-get-host-services``
asks Checkmk live. ``checkmk-sync-hosts`` and ``checkmk-map-host`` change hub state only (idempotent,
closed-world), so the classifier lets them run; admins can tighten their policy like any other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.checkmk import service
from connectors.checkmk.errors import CheckmkError
from connectors.checkmk.integration import HostList, HostServices, MapResult, SyncResult
from connectors.checkmk.manager import CheckmkManager
from connectors.checkmk.models import Health
from hub.core.errors import ToolError
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role

SOURCE = service.SOURCE
READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=True)
CHANGE = ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False)
HOST_NAME = Field(min_length=1, max_length=255, pattern=r"^[^\s/]+$", description="the Checkmk host name")


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoArgs(_Args):
    pass


class ListHostsArgs(_Args):
    health: list[Health] = Field(default_factory=list, max_length=3, description="only hosts in these states")
    mapped: bool | None = Field(default=None, description="only hosts with (true) or without (false) a device")
    name_contains: str | None = Field(default=None, max_length=100, description="case-insensitive name filter")
    limit: int = Field(default=200, ge=1, le=1000)


class HostArgs(_Args):
    host_name: str = HOST_NAME


class MapHostArgs(_Args):
    host_name: str = HOST_NAME
    device_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="the device; null maps to none")
    auto: bool = Field(default=False, description="map by hostname again (device_id must be null)")

    @model_validator(mode="after")
    def _one_choice(self) -> MapHostArgs:
        if self.auto and self.device_id is not None:
            raise ValueError("give device_id, or auto=true, not both")
        return self


@dataclass(frozen=True)
class ToolCall:
    """What every handler gets besides its arguments."""

    manager: CheckmkManager
    ctx: ToolContext


async def list_hosts(call: ToolCall, args: ListHostsArgs) -> HostList:
    """List the Checkmk hosts of the organisation's site with their state, service counts (OK/WARN/CRIT/UNKNOWN) and mapped device, worst first (as of the last sync)."""
    return await service.list_hosts(
        call.ctx.session,
        call.manager,
        org_id=call.ctx.org_id,
        health=args.health,
        mapped=args.mapped,
        name_contains=args.name_contains,
        limit=args.limit,
    )


async def get_host_services(call: ToolCall, args: HostArgs) -> HostServices:
    """Get the monitored services of a Checkmk host live from Checkmk: state (OK/WARN/CRIT/UNKNOWN), output and counts."""
    return await service.host_services(call.ctx.session, call.manager, org_id=call.ctx.org_id, host_name=args.host_name)


async def sync_hosts(call: ToolCall, _: NoArgs) -> SyncResult:
    """Sync the Checkmk site's hosts now: states, service counts, device mapping by hostname, and checkmk alerts.

    A sync Checkmk refuses answers ``status: error`` with Checkmk's reason and changes no host.
    """
    return await service.sync(call.ctx.session, call.manager, org_id=call.ctx.org_id, actor=call.ctx.caller.actor)


async def map_host(call: ToolCall, args: MapHostArgs) -> MapResult:
    """Map a Checkmk host to a native device by hand, to no device, or back to automatic mapping by hostname."""
    return await service.map_host(
        call.ctx.session,
        call.manager,
        org_id=call.ctx.org_id,
        actor=call.ctx.caller.actor,
        host_name=args.host_name,
        device_id=args.device_id,
        auto=args.auto,
    )


@dataclass(frozen=True)
class CheckmkTool:
    """One row of the tool table."""

    name: str
    args: type[_Args]
    handler: Callable[..., Awaitable[Any]]
    annotations: ToolAnnotations
    min_role: Role


TOOLS: tuple[CheckmkTool, ...] = (
    CheckmkTool("checkmk-list-hosts", ListHostsArgs, list_hosts, READ, Role.VIEWER),
    CheckmkTool("checkmk-get-host-services", HostArgs, get_host_services, READ, Role.VIEWER),
    CheckmkTool("checkmk-sync-hosts", NoArgs, sync_hosts, CHANGE, Role.OPERATOR),
    CheckmkTool("checkmk-map-host", MapHostArgs, map_host, CHANGE, Role.ADMIN),
)
TOOL_NAMES = tuple(t.name for t in TOOLS)
SYNC_TOOL = f"{SOURCE}:checkmk-sync-hosts"
MAP_TOOL = f"{SOURCE}:checkmk-map-host"


def _wrap(spec: CheckmkTool, manager: CheckmkManager) -> Callable[[ToolContext, Any], Awaitable[Any]]:
    async def handler(ctx: ToolContext, args: Any) -> Any:
        try:
            return await spec.handler(ToolCall(manager, ctx), args)
        except CheckmkError as exc:
            raise ToolError(str(exc)) from exc

    return handler


def checkmk_tools(manager: CheckmkManager) -> list[Tool]:
    """The Checkmk tools (every organisation; each call works on the caller's site)."""
    return [
        model_tool(
            source=SOURCE,
            name=spec.name,
            args_model=spec.args,
            handler=_wrap(spec, manager),
            result_type=get_type_hints(spec.handler)["return"],
            description=(spec.handler.__doc__ or "").strip(),
            annotations=spec.annotations,
            min_role=spec.min_role,
            title=spec.name.removeprefix("checkmk-").replace("-", " ").capitalize(),
            category="monitoring",
        )
        for spec in TOOLS
    ]
