"""Write tools over customers, sites and devices, and the dynamic-group tools (thin wrappers).

``rmm-create-customer`` / ``rmm-update-customer`` / ``rmm-create-site`` / ``rmm-update-site``
(rename, archive), ``rmm-move-devices``, ``rmm-update-device`` (assigned user, description, tags),
``rmm-tag-devices`` and ``rmm-list-groups`` / ``rmm-create-group`` / ``rmm-update-group`` /
``rmm-delete-group`` / ``rmm-get-group-devices``. Record-keeping changes in the hub (nothing runs on
a device) are annotated closed-world, non-destructive and idempotent (a repeated create conflicts
rather than duplicating), so the classifier seeds them ``auto``; deleting a group keeps the
classifier's ``never`` for the verb until an admin relaxes it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.core.bounds import Id
from hub.core.errors import InvalidRequest
from hub.core.models import Customer, Site
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.devices import customers, groups, labels, schemas, service
from native_rmm.devices.groups import GroupFilter
from native_rmm.devices.queries import placement
from native_rmm.devices.targets import (
    MAX_TARGETS,
    GroupRef,
    Tag,
    TargetDevice,
    Targets,
    find_group,
    group_filters,
    resolve_targets,
)
from native_rmm.devices.tools import DeviceArgs, DeviceRef, ListDevicesArgs, get_device_tool, list_devices_tool
from native_rmm.models.devices import DeviceGroup

SOURCE = "native_rmm"
RECORD = ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False)
READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateCustomerArgs(_Args):
    name: Name = Field(description="the customer's name, e.g. 'Contoso Ltd'")
    first_site: Annotated[str, Field(max_length=200)] = Field(default="Main", description="name of its first site")


class UpdateCustomerArgs(_Args):
    customer_id: Id
    name: Name | None = Field(default=None, description="new name")
    archived: bool | None = Field(
        default=None, description="true archives (only when no device remains); false restores"
    )


class CreateSiteArgs(_Args):
    customer_id: Id
    name: Name = Field(description="the site's name, e.g. 'Bristol office'")


class UpdateSiteArgs(_Args):
    site_id: Id
    name: Name | None = None
    archived: bool | None = Field(
        default=None, description="true archives (only when no device remains); false restores"
    )


class MoveDevicesArgs(_Args):
    targets: Targets = Field(description=f"the devices to move (at most {MAX_TARGETS})")
    site_id: Id = Field(description="the site they move to (its customer comes with it; rmm-list-sites lists them)")


class UpdateDeviceArgs(_Args):
    device: DeviceRef
    display_name: Annotated[str, Field(max_length=255)] | None = None
    description: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, description="what the device is for, e.g. 'Bristol file server'"
    )
    assigned_user_name: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="the person who uses it ('' clears)"
    )
    assigned_user_email: Annotated[str, Field(max_length=320, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = Field(
        default=None, description="their email ('' clears)"
    )
    tags: Annotated[list[Tag], Field(max_length=labels.MAX_TAGS_PER_DEVICE)] | None = Field(
        default=None, description="replace the device's tags with these"
    )

    @model_validator(mode="before")
    @classmethod
    def _lower_tags(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("tags"), list):
            return {**data, "tags": [t.strip().lower() if isinstance(t, str) else t for t in data["tags"]]}
        return data


class TagDevicesArgs(_Args):
    targets: Targets = Field(description=f"the devices to tag (at most {MAX_TARGETS})")
    add: Annotated[list[Tag], Field(max_length=20)] = []
    remove: Annotated[list[Tag], Field(max_length=20)] = []

    @model_validator(mode="before")
    @classmethod
    def _lower(cls, data: object) -> object:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("add", "remove"):
                if isinstance(data.get(key), list):
                    data[key] = [t.strip().lower() if isinstance(t, str) else t for t in data[key]]
        return data

    @model_validator(mode="after")
    def _something(self) -> TagDevicesArgs:
        if not self.add and not self.remove:
            raise ValueError("give tags to add and/or remove")
        return self


class NoArgs(_Args):
    pass


class CreateGroupArgs(_Args):
    name: Name
    filter: GroupFilter = Field(description="what the group's devices have in common")
    description: Annotated[str, Field(max_length=1000)] = ""


class UpdateGroupArgs(_Args):
    group: GroupRef
    name: Name | None = None
    filter: GroupFilter | None = None
    description: Annotated[str, Field(max_length=1000)] | None = None


class GroupArgs(_Args):
    group: GroupRef


class GroupDevicesArgs(_Args):
    group: GroupRef
    limit: int = Field(default=100, ge=1, le=MAX_TARGETS)


class TargetOut(BaseModel):
    """A device an action named: id, name and where it lives."""

    id: int
    label: str
    customer: str
    site: str

    @staticmethod
    def of(d: TargetDevice) -> TargetOut:
        return TargetOut(id=d.id, label=d.label, customer=d.customer, site=d.site)


class MoveResult(BaseModel):
    customer: str
    site: str
    site_id: int
    devices: list[TargetOut]


class TaggedDevice(BaseModel):
    id: int
    label: str
    tags: list[str]


class TagResult(BaseModel):
    count: int
    devices: list[TaggedDevice]


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    filter: GroupFilter
    created_by: str

    @staticmethod
    def of(g: DeviceGroup) -> GroupOut:
        return GroupOut(id=g.id, name=g.name, description=g.description, filter=GroupFilter.of(group_filters(g)),
                        created_by=g.created_by)  # fmt: skip


class GroupList(BaseModel):
    count: int
    groups: list[GroupOut]


class GroupDevices(BaseModel):
    group: GroupOut
    count: int
    more: bool
    devices: list[schemas.DeviceSummary]


def _customer_out(c: Customer, sites: list[Site]) -> schemas.CustomerOut:
    return schemas.CustomerOut(
        id=c.id, name=c.name, is_unassigned=c.is_unassigned, device_count=0, archived=c.archived_at is not None,
        sites=[_site_out(s, c) for s in sites],
    )  # fmt: skip


def _site_out(s: Site, c: Customer) -> schemas.SiteOut:
    return schemas.SiteOut(id=s.id, name=s.name, customer_id=c.id, customer=c.name, device_count=0,
                           archived=s.archived_at is not None)  # fmt: skip


async def create_customer_tool(ctx: ToolContext, args: CreateCustomerArgs) -> schemas.CustomerOut:
    """Create a customer with its first site (default 'Main')."""
    c = await customers.create_customer(ctx.session, org_id=ctx.org_id, name=args.name, actor=ctx.caller.actor,
                                        site=args.first_site)  # fmt: skip
    await ctx.session.refresh(c, ["sites"])
    return _customer_out(c, list(c.sites))


async def update_customer_tool(ctx: ToolContext, args: UpdateCustomerArgs) -> schemas.CustomerOut:
    """Rename a customer, or archive it (only once no device remains) or restore it."""
    if args.name is None and args.archived is None:
        raise InvalidRequest("give a new name and/or archived=true/false")
    c = await customers.update_customer(ctx.session, org_id=ctx.org_id, customer_id=args.customer_id,
                                        actor=ctx.caller.actor, name=args.name, archived=args.archived)  # fmt: skip
    await ctx.session.refresh(c, ["sites"])
    return _customer_out(c, list(c.sites))


async def create_site_tool(ctx: ToolContext, args: CreateSiteArgs) -> schemas.SiteOut:
    """Add a site (a location) to a customer."""
    site = await customers.create_site(ctx.session, org_id=ctx.org_id, customer_id=args.customer_id, name=args.name,
                                       actor=ctx.caller.actor)  # fmt: skip
    customer = await ctx.session.get_one(Customer, site.customer_id)
    return _site_out(site, customer)


async def update_site_tool(ctx: ToolContext, args: UpdateSiteArgs) -> schemas.SiteOut:
    """Rename a site, or archive it (only once no device remains) or restore it."""
    if args.name is None and args.archived is None:
        raise InvalidRequest("give a new name and/or archived=true/false")
    site = await customers.update_site(ctx.session, org_id=ctx.org_id, site_id=args.site_id, actor=ctx.caller.actor,
                                       name=args.name, archived=args.archived)  # fmt: skip
    customer = await ctx.session.get_one(Customer, site.customer_id)
    return _site_out(site, customer)


async def move_devices_tool(ctx: ToolContext, args: MoveDevicesArgs) -> MoveResult:
    """Move one or many devices to another site (and so customer); their history moves with them."""
    devices = await resolve_targets(ctx.session, org_id=ctx.org_id, targets=args.targets)
    customer, site = await labels.move_devices(ctx.session, org_id=ctx.org_id, devices=devices, site_id=args.site_id,
                                               actor=ctx.caller.actor)  # fmt: skip
    moved = [TargetOut(id=d.id, label=d.label, customer=customer, site=site) for d in devices]
    return MoveResult(customer=customer, site=site, site_id=args.site_id, devices=moved)


async def update_device_tool(ctx: ToolContext, args: UpdateDeviceArgs) -> schemas.DeviceDetail:
    """Set who uses a device (assigned user name and email), its description/role, display name or tags."""
    device = await service.resolve_device(ctx.session, org_id=ctx.org_id, ref=args.device)
    fields = args.model_dump(exclude_none=True, exclude={"device", "tags"})
    if not fields and args.tags is None:
        raise InvalidRequest("nothing to change: give display_name, description, assigned_user_name/email or tags")
    if fields:
        await labels.update_device(ctx.session, device, actor=ctx.caller.actor, fields=fields)
    if args.tags is not None:
        where = await placement(ctx.session, site_id=device.site_id)
        target = TargetDevice(id=device.id, label=device.label, hostname=device.hostname, os_family=device.os_family,
                              status=device.status, customer=where.customer_name, site=where.site_name,
                              is_demo=device.is_demo)  # fmt: skip
        await labels.change_tags(ctx.session, org_id=ctx.org_id, devices=[target], replace=args.tags,
                                 actor=ctx.caller.actor)  # fmt: skip
    return await get_device_tool(ctx, DeviceArgs(device=device.id))


async def tag_devices_tool(ctx: ToolContext, args: TagDevicesArgs) -> TagResult:
    """Add and/or remove tags on one or many devices."""
    devices = await resolve_targets(ctx.session, org_id=ctx.org_id, targets=args.targets)
    after = await labels.change_tags(ctx.session, org_id=ctx.org_id, devices=devices, add=args.add, remove=args.remove,
                                     actor=ctx.caller.actor)  # fmt: skip
    out = [TaggedDevice(id=d.id, label=d.label, tags=after[d.id]) for d in devices]
    return TagResult(count=len(out), devices=out)


async def list_groups_tool(ctx: ToolContext, args: NoArgs) -> GroupList:
    """List the saved device groups (dynamic filters) with their filters."""
    rows = [GroupOut.of(g) for g in await groups.list_groups(ctx.session, org_id=ctx.org_id)]
    return GroupList(count=len(rows), groups=rows)


async def create_group_tool(ctx: ToolContext, args: CreateGroupArgs) -> GroupOut:
    """Save a device group: a filter (customer, site, OS, status, tag, application, open alert) that resolves
    to its devices whenever it is used as a target."""
    group = await groups.create_group(ctx.session, org_id=ctx.org_id, name=args.name, criteria=args.filter,
                                      description=args.description, actor=ctx.caller.actor)  # fmt: skip
    return GroupOut.of(group)


async def update_group_tool(ctx: ToolContext, args: UpdateGroupArgs) -> GroupOut:
    """Change a saved group's name, filter or description."""
    group = await groups.update_group(ctx.session, org_id=ctx.org_id, ref=args.group, actor=ctx.caller.actor,
                                      name=args.name, criteria=args.filter, description=args.description)  # fmt: skip
    return GroupOut.of(group)


async def delete_group_tool(ctx: ToolContext, args: GroupArgs) -> GroupOut:
    """Delete a saved group (the filter only; its devices are untouched)."""
    return GroupOut.of(
        await groups.delete_group(ctx.session, org_id=ctx.org_id, ref=args.group, actor=ctx.caller.actor)
    )


async def get_group_devices_tool(ctx: ToolContext, args: GroupDevicesArgs) -> GroupDevices:
    """Get the devices a saved group matches right now."""
    group = await find_group(ctx.session, org_id=ctx.org_id, ref=args.group)
    listed = await list_devices_tool(ctx, ListDevicesArgs(group=group.id, limit=args.limit))
    return GroupDevices(group=GroupOut.of(group), count=listed.count, more=listed.more, devices=listed.devices)


def manage_tools() -> list[Tool]:
    """The customer, site, device-label and group tools."""

    def tool(name: str, args: type[BaseModel], handler: object, title: str, *, role: Role = Role.OPERATOR,
             annotations: ToolAnnotations = RECORD, category: str = "devices") -> Tool:  # fmt: skip
        return model_tool(source=SOURCE, name=name, args_model=args, handler=handler,  # type: ignore[arg-type]
                          annotations=annotations, min_role=role, title=title, category=category)  # fmt: skip

    return [
        tool("rmm-create-customer", CreateCustomerArgs, create_customer_tool, "Create customer", role=Role.ADMIN,
             category="customers"),
        tool("rmm-update-customer", UpdateCustomerArgs, update_customer_tool, "Rename or archive customer",
             role=Role.ADMIN, category="customers"),
        tool("rmm-create-site", CreateSiteArgs, create_site_tool, "Create site", role=Role.ADMIN, category="customers"),
        tool("rmm-update-site", UpdateSiteArgs, update_site_tool, "Rename or archive site", role=Role.ADMIN,
             category="customers"),
        tool("rmm-move-devices", MoveDevicesArgs, move_devices_tool, "Move devices"),
        tool("rmm-update-device", UpdateDeviceArgs, update_device_tool, "Edit device (user, description, tags)"),
        tool("rmm-tag-devices", TagDevicesArgs, tag_devices_tool, "Tag devices"),
        tool("rmm-list-groups", NoArgs, list_groups_tool, "List device groups", role=Role.VIEWER, annotations=READ),
        tool("rmm-create-group", CreateGroupArgs, create_group_tool, "Create device group"),
        tool("rmm-update-group", UpdateGroupArgs, update_group_tool, "Edit device group"),
        tool("rmm-delete-group", GroupArgs, delete_group_tool, "Delete device group"),
        tool("rmm-get-group-devices", GroupDevicesArgs, get_group_devices_tool, "Devices of a group",
             role=Role.VIEWER, annotations=READ),
    ]  # fmt: skip
