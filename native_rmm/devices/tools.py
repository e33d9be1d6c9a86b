"""Read tools over customers, sites and devices, plus marking a patch applied (thin wrappers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from agent.protocol import OsFamily, PatchStatus
from hub.core.bounds import Count, Id
from hub.core.models import Customer, Site
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.devices import schemas, service, state
from native_rmm.devices.agent_versions import is_outdated
from native_rmm.devices.queries import DeviceFilters, customer_overview, tags_of
from native_rmm.devices.targets import GroupRef, Tag, find_group, group_filters
from native_rmm.models.devices import Device, DeviceStatus

SOURCE = "native_rmm"
READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)
DeviceRef = Annotated[Id | str, Field(description="the device id (e.g. 42) or its hostname (e.g. LON-DC-01)")]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoArgs(_Args):
    pass


class SitesArgs(_Args):
    customer_id: Id | None = Field(default=None, description="only this customer's sites")


class ListDevicesArgs(_Args):
    customer_id: Id | None = None
    customer: str | None = Field(default=None, max_length=200, description="customer name (substring)")
    site_id: Id | None = None
    query: str | None = Field(
        default=None,
        max_length=255,
        description="hostname, display name, description or IP address (substring); fuzzy",
    )
    status: DeviceStatus | None = None
    user: str | None = Field(
        default=None,
        max_length=200,
        description="a person: assigned user (name or email), logged in now or last logged in (substring, any case)",
    )
    tag: Tag | None = None
    os_family: OsFamily | None = None
    application: str | None = Field(default=None, max_length=255, description="an installed application (contains)")
    open_alert: bool | None = Field(default=None, description="true: only devices with an open alert")
    group: GroupRef | None = Field(default=None, description="only devices of this saved group (id or name)")
    include_uninstalled: bool = False
    limit: int = Field(default=50, ge=1, le=500)
    offset: Count = 0


class DeviceArgs(_Args):
    device: DeviceRef


class StateArgs(_Args):
    device: DeviceRef
    minutes: int = Field(default=60, ge=1, le=7 * 24 * 60, description="trend window")


class AppsArgs(_Args):
    device: DeviceRef
    search: str | None = Field(default=None, max_length=255, description="name or publisher contains")
    limit: int = Field(default=100, ge=1, le=1000)
    offset: Count = 0


class PatchesArgs(_Args):
    device: DeviceRef
    status: PatchStatus | None = None


class MarkPatchArgs(_Args):
    device: DeviceRef
    patch: Id | str = Field(description="the patch record id, or its key (KB number / package name)")


async def _device_counts(ctx: ToolContext, column: object) -> dict[int, int]:
    stmt = select(column, func.count()).select_from(Device).join(Site, Site.id == Device.site_id)  # type: ignore[call-overload]
    stmt = stmt.where(Device.org_id == ctx.org_id, Device.uninstalled_at.is_(None)).group_by(column)
    return {k: n for k, n in (await ctx.session.execute(stmt)).all()}


async def list_customers_tool(ctx: ToolContext, args: NoArgs) -> list[schemas.CustomerOut]:
    """List the customers of the organisation with their sites and how many devices each has."""
    return await customer_overview(ctx.session, org_id=ctx.org_id)


async def list_sites_tool(ctx: ToolContext, args: SitesArgs) -> list[schemas.SiteOut]:
    """List sites (optionally of one customer) with their device counts."""
    per_site = await _device_counts(ctx, Device.site_id)
    stmt = select(Site, Customer).join(Customer).where(Customer.org_id == ctx.org_id)
    if args.customer_id is not None:
        stmt = stmt.where(Customer.id == args.customer_id)
    rows = (await ctx.session.execute(stmt.order_by(Customer.name, Site.name))).all()
    return [schemas.SiteOut(id=s.id, name=s.name, customer_id=c.id, customer=c.name,
                            device_count=per_site.get(s.id, 0), archived=s.archived_at is not None)
            for s, c in rows]  # fmt: skip


async def list_devices_tool(ctx: ToolContext, args: ListDevicesArgs, latest: str | None = None) -> schemas.DeviceList:
    """List devices, filtered by customer, site, status, user (assigned or logged in), tag, OS, installed
    application, open alert, saved group or a (fuzzy) name/description query; flags outdated agents."""
    filters = DeviceFilters(
        customer_id=args.customer_id, customer=args.customer, site_id=args.site_id, q=args.query or "",
        status=args.status, include_uninstalled=args.include_uninstalled, user=args.user or "", tag=args.tag or "",
        os_family=args.os_family, application=args.application or "", open_alert=args.open_alert,
    )  # fmt: skip
    if args.group is not None:
        group = group_filters(await find_group(ctx.session, org_id=ctx.org_id, ref=args.group))
        filters = filters.model_copy(update={k: v for k, v in group.model_dump(exclude_defaults=True).items()})
    rows = await service.list_devices(
        ctx.session, org_id=ctx.org_id, filters=filters, limit=args.limit + 1, offset=args.offset
    )
    tags = await tags_of(ctx.session, device_ids=[r.device.id for r in rows[: args.limit]])
    items = [schemas.summary(r.device, site=r.site_name, customer_id=r.customer_id, customer=r.customer_name,
                             tags=tags[r.device.id]) for r in rows[: args.limit]]  # fmt: skip
    if latest is not None:
        for item, r in zip(items, rows, strict=False):
            item.agent_outdated = is_outdated(
                r.device.agent_version,
                r.device.os_family,
                latest,
                managed=not (r.device.is_demo or r.device.quick_support),
            )
    note = ""
    if args.query and items and all(args.query.lower() not in d.hostname.lower() for d in items):
        note = f"no exact match for {args.query!r}; these are the closest names"
    return schemas.DeviceList(devices=items, count=len(items), more=len(rows) > args.limit, note=note)


async def _row(ctx: ToolContext, ref: int | str) -> tuple[Device, str, int, str]:
    device = await service.resolve_device(ctx.session, org_id=ctx.org_id, ref=ref)
    site, customer = (
        await ctx.session.execute(select(Site, Customer).join(Customer).where(Site.id == device.site_id))
    ).one()
    return device, site.name, customer.id, customer.name


async def get_device_tool(ctx: ToolContext, args: DeviceArgs) -> schemas.DeviceDetail:
    """Get one device: status, OS, IPs, agent version, last seen, hardware, network, who uses it
    (assigned user, users logged in now, the last user), its description and tags."""
    device, site, customer_id, customer = await _row(ctx, args.device)
    tags = (await tags_of(ctx.session, device_ids=[device.id]))[device.id]
    return schemas.detail(device, site=site, customer_id=customer_id, customer=customer, tags=tags)


async def get_device_state_tool(ctx: ToolContext, args: StateArgs) -> schemas.DeviceState:
    """Get a device's live CPU, memory, disk and load, with the trend over the last minutes."""
    device = await service.resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    return await state.device_state(ctx.session, device, minutes=args.minutes)


async def list_device_apps_tool(ctx: ToolContext, args: AppsArgs) -> schemas.AppList:
    """List the applications installed on a device, searchable by name or publisher."""
    device = await service.resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    apps, total = await service.list_applications(
        ctx.session, device_id=device.id, search=args.search, limit=args.limit, offset=args.offset
    )
    return schemas.AppList.of(device.id, list(apps), total, args.offset)


async def get_device_patches_tool(ctx: ToolContext, args: PatchesArgs) -> schemas.PatchList:
    """Get a device's OS patches (pending, installed, failed) as its agent reported them."""
    device = await service.resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    patches = await service.list_patches(ctx.session, device_id=device.id, status=args.status)
    out = [schemas.PatchOut.of(p) for p in patches]
    return schemas.PatchList(
        device_id=device.id, pending=sum(p.status is PatchStatus.PENDING for p in out), patches=out
    )


async def mark_patch_applied_tool(ctx: ToolContext, args: MarkPatchArgs) -> schemas.PatchOut:
    """Mark a patch record of a device as installed (a record-keeping change; nothing runs on the device)."""
    device = await service.resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    by_id = isinstance(args.patch, int) or str(args.patch).isdigit()
    record = await service.mark_patch_applied(
        ctx.session, device_id=device.id, patch_id=int(args.patch) if by_id else None,
        key=None if by_id else str(args.patch), by=ctx.caller.label,
    )  # fmt: skip
    return schemas.PatchOut.of(record)


def device_tools(latest_agent_version: Callable[[], str | None] = lambda: None) -> list[Tool]:
    """The device read tools and ``rmm-mark-patch-applied`` (the list flags agents older than the latest)."""

    async def list_devices(ctx: ToolContext, args: ListDevicesArgs) -> schemas.DeviceList:
        return await list_devices_tool(ctx, args, latest=latest_agent_version())

    list_devices.__doc__ = list_devices_tool.__doc__

    def read(name: str, args: type[BaseModel], handler: object, title: str) -> Tool:
        return model_tool(source=SOURCE, name=name, args_model=args, handler=handler,  # type: ignore[arg-type]
                          annotations=READ, min_role=Role.VIEWER, title=title, category="devices")  # fmt: skip

    return [
        read("rmm-list-customers", NoArgs, list_customers_tool, "List customers"),
        read("rmm-list-sites", SitesArgs, list_sites_tool, "List sites"),
        read("rmm-list-devices", ListDevicesArgs, list_devices, "List devices"),
        read("rmm-get-device", DeviceArgs, get_device_tool, "Device details"),
        read("rmm-get-device-state", StateArgs, get_device_state_tool, "Device health"),
        read("rmm-list-device-apps", AppsArgs, list_device_apps_tool, "Installed applications"),
        read("rmm-get-device-patches", PatchesArgs, get_device_patches_tool, "Device patches"),
        model_tool(
            source=SOURCE,
            name="rmm-mark-patch-applied",
            args_model=MarkPatchArgs,
            handler=mark_patch_applied_tool,
            annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False),
            min_role=Role.OPERATOR,
            title="Mark patch applied",
            category="patches",
        ),
    ]
