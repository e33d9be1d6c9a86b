"""The static ConnectWise RMM tools: the seed's 17, named and defaulted as there, and the ticket note (thin
wrappers over the client).

Each organisation with a connection gets its own copy (``org_id`` set), so tenants never see each
other's tools. Reads are annotated read-only (the classifier makes them ``auto``); ``cw-rmm-run-task``,
``cw-rmm-create-ticket`` and ``cw-rmm-add-ticket-note`` are writes the classifier sends to approval.
Results are trimmed to the schemas' summary forms, ids kept. Upstream errors become :class:`ToolError`\\ s carrying ConnectWise's
status and message and what to do about it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from connectors.connectwise_rmm.answers import JsonObject, TaskAnswer, task_answer, tool_error
from connectors.connectwise_rmm.client.errors import ConnectWiseError
from connectors.connectwise_rmm.client.schemas import (
    IdRef,
    NoteVisibility,
    TaskRunReport,
    TicketCreate,
    TicketNoteCreate,
)
from connectors.connectwise_rmm.client.scopes import TICKETS_CREATE, TICKETS_READ, missing_scopes
from connectors.connectwise_rmm.describe import describe_create_ticket, describe_run_task, describe_ticket_note
from connectors.connectwise_rmm.models import CWScript
from connectors.connectwise_rmm.script_tools import SCRIPT_PREFIX, SOURCE
from connectors.connectwise_rmm.sources import ClientSource, ToolCall
from hub.core.db import utcnow
from hub.core.describe import Description
from hub.core.errors import ToolError
from hub.core.registry import PolicyTarget, Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role

READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=True)
WRITE = ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoArgs(_Args):
    pass


class CompanyArgs(_Args):
    company_id: str = Field(min_length=1, max_length=64, description="ConnectWise company UUID")


class SitesArgs(_Args):
    company_id: str | None = Field(default=None, max_length=64, description="only this company's sites")


class DevicesArgs(_Args):
    company_id: str | None = Field(default=None, max_length=64, description="only this company's endpoints")
    site_id: str | None = Field(default=None, max_length=64, description="only this site's endpoints")
    name_contains: str | None = Field(default=None, max_length=100, description="case-insensitive name filter")
    limit: int = Field(default=100, ge=1, le=500)


class DeviceArgs(_Args):
    endpoint_id: str = Field(min_length=1, max_length=64, description="ConnectWise endpoint UUID")
    company_id: str | None = Field(default=None, max_length=64, description="speeds up the lookup when known")
    site_id: str | None = Field(default=None, max_length=64, description="speeds up the lookup when known")


class EndpointArgs(_Args):
    endpoint_id: str = Field(min_length=1, max_length=64, description="ConnectWise endpoint UUID")


class PatchesArgs(EndpointArgs):
    max_patches: int = Field(default=50, ge=1, le=500, description="patches listed (not installed first)")


class TasksSummaryArgs(_Args):
    endpoint_id: str | None = Field(default=None, max_length=64, description="only this endpoint's tasks")
    since_hours: int = Field(default=24, ge=1, le=24 * 31, description="tenant-wide: runs of the last N hours")
    limit: int = Field(default=50, ge=1, le=500)


class RunTaskArgs(_Args):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"targetType": {"const": "COMPANY"}}, "required": ["targetType"]},
            "then": {"required": ["company_id"], "not": {"required": ["endpoint_ids"]}},
            "else": {"required": ["endpoint_ids"], "not": {"required": ["company_id"]}},
        },
    )

    template_id: str = Field(min_length=1, max_length=64, description="shell-script templateId to run")
    targetType: Literal["MANAGED_ENDPOINT", "COMPANY"] = "MANAGED_ENDPOINT"
    endpoint_ids: list[str] | None = Field(default=None, min_length=1, max_length=500)
    company_id: str | None = Field(default=None, max_length=64)
    parameters: dict[str, Any] = Field(default_factory=dict, description="the script's parameters")
    name: str | None = Field(default=None, max_length=120, description="task name shown in ConnectWise")
    wait_seconds: int | None = Field(default=None, ge=0, le=600, description="how long to wait for results")

    @model_validator(mode="after")
    def _one_target(self) -> RunTaskArgs:
        if self.targetType == "COMPANY":
            valid = self.company_id is not None and not self.endpoint_ids
        else:
            valid = bool(self.endpoint_ids) and self.company_id is None
        if not valid:
            raise ValueError("give endpoint_ids, or targetType COMPANY with company_id (exactly one)")
        return self


class TaskResultsArgs(_Args):
    task_id: str = Field(min_length=1, max_length=64)
    instance_id: str | None = Field(default=None, max_length=64, description="a specific run; default the latest")


class TicketsArgs(_Args):
    company_id: str | None = Field(default=None, max_length=64)
    status_names: str | None = Field(default=None, max_length=200, description="comma-separated, e.g. New,Open")
    number: str | None = Field(default=None, max_length=40)
    summary: str | None = Field(default=None, max_length=200, description="summary text filter")
    limit: int = Field(default=25, ge=1, le=100)


class TicketArgs(_Args):
    ticket_id: str = Field(min_length=1, max_length=64)


class TicketNoteArgs(_Args):
    ticket: str = Field(min_length=1, max_length=64, description="the ticket's id (UUID) or its number (e.g. 1001)")
    detail: str = Field(min_length=1, max_length=12000, description="the note's text")
    visibility: Literal["internal", "all"] = Field(
        default="internal", description="internal: the partner's technicians only (default); all: the customer too"
    )


class CreateTicketArgs(_Args):
    summary: str = Field(min_length=1, max_length=255)
    description: str = Field(min_length=1, max_length=10000)
    service_board_id: str = Field(min_length=1, max_length=64)
    source_id: str = Field(min_length=1, max_length=64)
    company_id: str | None = Field(default=None, max_length=64)
    site_id: str | None = Field(default=None, max_length=64)
    priority_id: str | None = Field(default=None, max_length=64)
    endpoint_ids: list[str] = Field(default_factory=list, max_length=20, description="devices to attach")


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


# -- handlers: (call, args) -> result. The docstring is the tool description. ----------------------


async def list_companies(call: ToolCall, _: NoArgs) -> JsonObject:
    """List all companies (clients) in ConnectWise RMM, with their ids, primary site and contact."""
    companies = await call.cw.list_companies()
    return {"count": len(companies), "companies": [_dump(c.summary()) for c in companies]}


async def get_company(call: ToolCall, args: CompanyArgs) -> JsonObject:
    """Get details for a specific ConnectWise RMM company: status, primary site and primary contact."""
    return _dump((await call.cw.get_company(args.company_id)).summary())


async def list_sites(call: ToolCall, args: SitesArgs) -> JsonObject:
    """List ConnectWise RMM sites across the partner, or for one company."""
    sites = await call.cw.list_sites(args.company_id)
    return {"count": len(sites), "sites": [_dump(s.summary()) for s in sites]}


async def list_devices(call: ToolCall, args: DevicesArgs) -> JsonObject:
    """List managed ConnectWise RMM endpoints, optionally filtered by company, site or name."""
    devices = await call.cw.list_devices(company_id=args.company_id, site_id=args.site_id)
    if args.name_contains:
        needle = args.name_contains.lower()
        devices = [d for d in devices if needle in f"{d.device_name or ''} {d.friendly_name or ''}".lower()]
    shown = devices[: args.limit]
    return {"count": len(devices), "omitted": len(devices) - len(shown), "devices": [_dump(d.brief()) for d in shown]}


async def get_device(call: ToolCall, args: DeviceArgs) -> JsonObject:
    """Get hardware, OS, and network details for a ConnectWise RMM endpoint."""
    detail = await call.cw.get_device(args.endpoint_id, company_id=args.company_id, site_id=args.site_id)
    return _dump(detail.summary())


async def get_device_state(call: ToolCall, args: EndpointArgs) -> JsonObject:
    """Get live CPU, memory, disk, boot and logged-on user state for a ConnectWise RMM endpoint."""
    return _dump((await call.cw.get_device_state(args.endpoint_id)).summary())


async def get_device_patches(call: ToolCall, args: PatchesArgs) -> JsonObject:
    """List pending, installed, and failed patches for a ConnectWise RMM endpoint, with compliance counts."""
    patches = await call.cw.get_device_patches(args.endpoint_id)
    return _dump(patches.trimmed(endpoint_id=args.endpoint_id, max_patches=args.max_patches))


async def list_device_groups(call: ToolCall, _: NoArgs) -> JsonObject:
    """List the static and dynamic device groups configured in ConnectWise RMM."""
    groups = await call.cw.list_device_groups()
    keep = {"id", "name", "description", "static", "predefined"}
    return {
        "count": len(groups),
        "groups": [g.model_dump(mode="json", include=keep, exclude_none=True) for g in groups],
    }


async def list_scripts(call: ToolCall, _: NoArgs) -> JsonObject:
    """List all automation scripts available in the ConnectWise RMM tenant's script library."""
    scripts = await call.cw.list_scripts()
    keep = {"id", "name", "description", "script_category", "has_parameters"}
    rows = [s.model_dump(mode="json", include=keep, exclude_none=True) for s in scripts]
    return {"count": len(rows), "scripts": rows}


async def list_shell_scripts(call: ToolCall, _: NoArgs) -> JsonObject:
    """List ConnectWise RMM shell scripts (PowerShell, Bash, etc.) with their parameter schemas."""
    scripts = await call.cw.list_shell_scripts()
    return {"count": len(scripts), "shell_scripts": [_dump(s.summary()) for s in scripts]}


async def list_tasks(call: ToolCall, _: NoArgs) -> JsonObject:
    """List ConnectWise RMM automation task definitions."""
    tasks = await call.cw.list_tasks()
    rows = [
        {
            "name": t.name,
            "description": t.description,
            "type": t.type,
            "categories": t.categories,
            "operating_systems": sorted(t.operating_system),
        }
        for t in tasks
    ]
    return {"count": len(rows), "tasks": rows}


async def get_tasks_summary(call: ToolCall, args: TasksSummaryArgs) -> JsonObject:
    """Get a summary of ConnectWise RMM task runs across the tenant or for one endpoint."""
    since = None if args.endpoint_id else utcnow() - timedelta(hours=args.since_hours)
    runs = await call.cw.get_tasks_summary(args.endpoint_id, since=since)
    keep = {
        "task_id",
        "name",
        "state",
        "execution_status",
        "executed_on",
        "created_on",
        "next_schedule",
        "regularity",
        "template_id",
        "task_instance_id",
        "endpoint_id",
        "execution_states",
    }
    rows = [r.model_dump(mode="json", include=keep, exclude_none=True) for r in runs]
    return {"count": len(rows), "omitted": max(0, len(rows) - args.limit), "tasks": rows[: args.limit]}


async def get_task_results(call: ToolCall, args: TaskResultsArgs) -> JsonObject:
    """Get per-endpoint execution results (status and output) for a ConnectWise RMM task run."""
    return _dump(await call.cw.get_task_results(args.task_id, args.instance_id))


async def list_tickets(call: ToolCall, args: TicketsArgs) -> JsonObject:
    """List ConnectWise RMM service tickets, newest first, optionally by company, status, number or summary."""
    filters = {"statusNames": args.status_names} if args.status_names else None
    tickets = await call.cw.list_tickets(
        company_ids=[args.company_id] if args.company_id else (),
        number=args.number,
        summary=args.summary,
        filters=filters,
        max_items=args.limit,
    )
    return {"count": len(tickets), "tickets": [_dump(t.summary_view(description_chars=300)) for t in tickets]}


async def get_ticket(call: ToolCall, args: TicketArgs) -> JsonObject:
    """Get full details of a specific ConnectWise RMM ticket."""
    return _dump((await call.cw.get_ticket(args.ticket_id)).summary_view(description_chars=4000))


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


async def resolve_ticket_id(call: ToolCall, ticket: str) -> str:
    """A ticket's id from its id or its number (looked up with the number filter)."""
    if _UUID.match(ticket):
        return ticket
    found = [t for t in await call.cw.list_tickets(number=ticket, max_items=5) if t.number == ticket]
    if not found:
        raise ToolError(f"ConnectWise RMM has no ticket number {ticket}; cw-rmm-list-tickets lists them")
    return found[0].id


async def add_ticket_note(call: ToolCall, args: TicketNoteArgs) -> JsonObject:
    """Add a note to a ConnectWise RMM ticket (by id or number): internal to the partner by default."""
    ticket_id = await resolve_ticket_id(call, args.ticket)
    visibility = NoteVisibility.ALL if args.visibility == "all" else NoteVisibility.PARTNER
    note = await call.cw.add_ticket_note(ticket_id, TicketNoteCreate(detail=args.detail, visibility=visibility))
    return {"ticket_id": ticket_id, "ticket": args.ticket, **_dump(note.summary_view())}


async def create_ticket(call: ToolCall, args: CreateTicketArgs) -> JsonObject:
    """Create a new ConnectWise RMM service ticket (devices attached at creation carry through to Manage)."""
    body = TicketCreate(
        summary=args.summary,
        description=args.description,
        service_board=IdRef(id=args.service_board_id),
        source=IdRef(id=args.source_id),
        company=IdRef(id=args.company_id) if args.company_id else None,
        site=IdRef(id=args.site_id) if args.site_id else None,
        priority=IdRef(id=args.priority_id) if args.priority_id else None,
        assets=[IdRef(id=e) for e in args.endpoint_ids],
    )
    return _dump((await call.cw.create_ticket(body)).summary_view())


async def run_task(call: ToolCall, args: RunTaskArgs) -> TaskAnswer:
    """Schedule a ConnectWise RMM shell script on one or more endpoints (or a whole company) and report results."""
    endpoints = list(args.endpoint_ids or [])
    scheduled = await call.cw.schedule_task(
        args.template_id,
        name=args.name or f"rmmhub task {args.template_id[:8]}",
        endpoint_ids=endpoints,
        company_id=args.company_id,
        parameters=args.parameters,
        description=call.requested_by,
    )
    wait = call.script_wait(args.wait_seconds)
    if wait > 0:
        report = await call.cw.wait_for_task_results(
            scheduled.task_id, targets=endpoints, timeout=wait, poll_interval=call.settings.poll_interval_seconds
        )
    else:
        report = TaskRunReport(task_id=scheduled.task_id)
    return task_answer(args.name or args.template_id, args.template_id, endpoints, args.company_id, report)


async def run_task_targets(ctx: ToolContext, args: RunTaskArgs) -> list[PolicyTarget]:
    """The script's own ``cw-rmm-script-*`` tool governs running its template through ``cw-rmm-run-task``."""
    stmt = select(CWScript.slug).where(CWScript.org_id == ctx.org_id, CWScript.template_id == args.template_id)
    slugs = sorted(set((await ctx.session.execute(stmt)).scalars()))
    target: dict[str, Any] = {"parameters": args.parameters, "targetType": args.targetType}
    if args.targetType == "COMPANY":
        target["company_id"] = args.company_id
    else:
        target["endpoint_ids"] = args.endpoint_ids
    if args.wait_seconds is not None:
        target["wait_seconds"] = args.wait_seconds
    return [PolicyTarget(tool_id=f"{SOURCE}:{SCRIPT_PREFIX}{slug}", args=dict(target)) for slug in slugs]


@dataclass(frozen=True)
class StaticTool:
    """One row of the static tool table."""

    name: str
    args: type[_Args]
    handler: Callable[..., Awaitable[Any]]
    category: str
    write: bool = False
    scopes: tuple[str, ...] = ()
    targets: Callable[[ToolContext, Any], Awaitable[list[PolicyTarget]]] | None = None
    describe: Callable[[ToolContext, Any], Awaitable[Description]] | None = None


STATIC_TOOLS: tuple[StaticTool, ...] = (
    StaticTool("cw-rmm-list-companies", NoArgs, list_companies, "companies"),
    StaticTool("cw-rmm-get-company", CompanyArgs, get_company, "companies"),
    StaticTool("cw-rmm-list-sites", SitesArgs, list_sites, "companies"),
    StaticTool("cw-rmm-list-devices", DevicesArgs, list_devices, "devices"),
    StaticTool("cw-rmm-get-device", DeviceArgs, get_device, "devices"),
    StaticTool("cw-rmm-get-device-state", EndpointArgs, get_device_state, "devices"),
    StaticTool("cw-rmm-get-device-patches", PatchesArgs, get_device_patches, "devices"),
    StaticTool("cw-rmm-list-device-groups", NoArgs, list_device_groups, "devices"),
    StaticTool("cw-rmm-list-scripts", NoArgs, list_scripts, "automation"),
    StaticTool("cw-rmm-list-shell-scripts", NoArgs, list_shell_scripts, "automation"),
    StaticTool("cw-rmm-list-tasks", NoArgs, list_tasks, "automation"),
    StaticTool("cw-rmm-get-tasks-summary", TasksSummaryArgs, get_tasks_summary, "automation"),
    StaticTool(
        "cw-rmm-run-task",
        RunTaskArgs,
        run_task,
        "automation",
        write=True,
        targets=run_task_targets,
        describe=describe_run_task,
    ),
    StaticTool("cw-rmm-get-task-results", TaskResultsArgs, get_task_results, "automation"),
    StaticTool("cw-rmm-list-tickets", TicketsArgs, list_tickets, "tickets", scopes=(TICKETS_READ,)),
    StaticTool("cw-rmm-get-ticket", TicketArgs, get_ticket, "tickets", scopes=(TICKETS_READ,)),
    StaticTool(
        "cw-rmm-create-ticket",
        CreateTicketArgs,
        create_ticket,
        "tickets",
        write=True,
        scopes=(TICKETS_CREATE,),
        describe=describe_create_ticket,
    ),
    StaticTool(
        "cw-rmm-add-ticket-note",
        TicketNoteArgs,
        add_ticket_note,
        "tickets",
        write=True,
        scopes=(TICKETS_CREATE,),
        describe=describe_ticket_note,
    ),
)
STATIC_TOOL_NAMES = tuple(t.name for t in STATIC_TOOLS)


def _wrap(spec: StaticTool, manager: ClientSource) -> Callable[[ToolContext, Any], Awaitable[Any]]:
    async def handler(ctx: ToolContext, args: Any) -> Any:
        missing = missing_scopes(manager.granted_scopes(ctx.org_id), spec.scopes)
        if missing:
            raise ToolError(
                f"this ConnectWise RMM connection's API key was not granted {', '.join(missing)}, so {spec.name} "
                "cannot work. Grant it to the key in Asio (Integrations > API Access), then reconnect ConnectWise "
                "RMM under Integrations"
            )
        call = ToolCall.of(manager, ctx)
        try:
            return await spec.handler(call, args)
        except ConnectWiseError as exc:
            raise tool_error(exc) from exc

    return handler


def static_tools(manager: ClientSource, org_id: int) -> list[Tool]:
    """The static tools of one organisation's connection."""
    return [
        model_tool(
            source=SOURCE,
            name=spec.name,
            args_model=spec.args,
            handler=_wrap(spec, manager),
            result_type=get_type_hints(spec.handler)["return"],
            description=(spec.handler.__doc__ or "").strip(),
            annotations=WRITE if spec.write else READ,
            min_role=Role.OPERATOR if spec.write else Role.VIEWER,
            org_id=org_id,
            title=spec.name.removeprefix("cw-rmm-").replace("-", " ").capitalize(),
            category=spec.category,
            policy_targets=spec.targets,
            describe=spec.describe,
        )
        for spec in STATIC_TOOLS
    ]
