"""Targets: which devices one action is for, named the way an operator thinks of them.

A :class:`Targets` argument names the devices of a script run, a command, a patch install, a move
or a tag change (and, through the automation issue, of a schedule) in exactly one way:

- ``device_ids``: these devices;
- ``tag``: every device carrying the tag;
- ``group``: the devices a saved dynamic group (:class:`~native_rmm.models.devices.DeviceGroup`,
  by id or name) matches *now*;
- ``site_id`` / ``customer_id``: every device of a site or a customer.

:func:`resolve_targets` is the one function that turns it into devices, scoped by the caller's
organisation. Uninstalled devices never match a tag, group, site or customer (they have no agent to
run anything); naming one by id is an error, as is naming a device of another organisation. One
action may have at most :data:`MAX_TARGETS` devices: a selection past it is refused with a message
saying how many matched and what the limit is, never cut silently.

A tool that takes ``targets`` resolves them when it runs. Callers that want an approval to hold an
exact device list (the device list's bulk actions) resolve first and send ``device_ids``; generic
runners pin the resolved ids into their policy targets (see ``rmm-run-script``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import OsFamily
from hub.core.bounds import Id
from hub.core.errors import ToolError, ToolNotFoundError
from hub.core.models import Customer, Site
from native_rmm.devices.queries import DeviceFilters, filter_devices
from native_rmm.models.devices import Device, DeviceGroup, DeviceStatus

#: The most devices one action (a bulk run, a move, a tag change) may target.
MAX_TARGETS = 500
#: A tag: letters, digits and ``-_.:``, 1-64 characters; stored (and matched) lower-cased.
TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
Tag = Annotated[str, Field(pattern=TAG_PATTERN, description="a tag, e.g. 'finance' or 'kiosk'")]
GroupRef = Annotated[Id | Annotated[str, Field(min_length=1, max_length=200)], Field(description="group id or name")]


class Targets(BaseModel):
    """The devices an action is for: set exactly one field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_TARGETS)] | None = Field(
        default=None, description=f"these devices (at most {MAX_TARGETS})"
    )
    tag: Tag | None = Field(default=None, description="every device with this tag")
    group: GroupRef | None = Field(default=None, description="the devices a saved group matches now")
    site_id: Id | None = Field(default=None, description="every device of this site")
    customer_id: Id | None = Field(default=None, description="every device of this customer")

    @model_validator(mode="before")
    @classmethod
    def _lower_tag(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("tag"), str):
            return {**data, "tag": data["tag"].strip().lower()}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Targets:
        chosen = [name for name in ("device_ids", "tag", "group", "site_id", "customer_id") if getattr(self, name)]
        if len(chosen) != 1:
            raise ValueError("name the targets in exactly one way: device_ids, tag, group, site_id or customer_id")
        return self

    def describe(self) -> str:
        """A short phrase for messages ("tag 'finance'", "3 devices")."""
        if self.device_ids:
            return f"{len(self.device_ids)} device(s)"
        if self.tag:
            return f"tag {self.tag!r}"
        if self.group is not None:
            return f"group {self.group!r}"
        if self.site_id:
            return f"site #{self.site_id}"
        return f"customer #{self.customer_id}"


@dataclass(frozen=True)
class TargetDevice:
    """A resolved target: what an action and its approval card need to name it."""

    id: int
    label: str
    hostname: str
    os_family: OsFamily | None
    status: DeviceStatus
    customer: str
    site: str
    is_demo: bool

    @property
    def where(self) -> str:
        """``label (Customer / Site)``: how approvals and results name a device."""
        return f"{self.label} ({self.customer} / {self.site})"


async def find_group(session: AsyncSession, *, org_id: int, ref: int | str) -> DeviceGroup:
    """A saved group by id or (case-insensitive) name, or :class:`ToolNotFoundError`."""
    stmt = select(DeviceGroup).where(DeviceGroup.org_id == org_id)
    text = str(ref).strip()
    if isinstance(ref, int) or text.isdigit():
        stmt = stmt.where(DeviceGroup.id == int(text))
    else:
        stmt = stmt.where(func.lower(DeviceGroup.name) == text.lower())
    group = (await session.execute(stmt)).scalar_one_or_none()
    if group is None:
        raise ToolNotFoundError(f"no device group {ref!r}; rmm-list-groups lists the groups")
    return group


def group_filters(group: DeviceGroup) -> DeviceFilters:
    """The device filter a saved group stands for (its stored JSON, validated)."""
    return DeviceFilters.model_validate(group.filters)


async def _filters_for(session: AsyncSession, org_id: int, targets: Targets) -> DeviceFilters:
    if targets.device_ids:
        return DeviceFilters(device_ids=tuple(dict.fromkeys(targets.device_ids)), include_uninstalled=True)
    if targets.tag:
        return DeviceFilters(tag=targets.tag)
    if targets.group is not None:
        return group_filters(await find_group(session, org_id=org_id, ref=targets.group))
    if targets.site_id:
        return DeviceFilters(site_id=targets.site_id)
    return DeviceFilters(customer_id=targets.customer_id)


async def match_devices(
    session: AsyncSession, *, org_id: int, filters: DeviceFilters, limit: int = MAX_TARGETS
) -> tuple[list[TargetDevice], int]:
    """Up to ``limit`` devices matching ``filters`` by name, and how many match in all."""
    columns = (
        select(
            Device.id,
            Device.display_name,
            Device.hostname,
            Device.os_family,
            Device.status,
            Customer.name,
            Site.name,
            Device.is_demo,
        )
        .join(Site, Site.id == Device.site_id)
        .join(Customer, Customer.id == Site.customer_id)
    )
    stmt = filter_devices(columns, org_id, filters).order_by(Device.hostname, Device.id).limit(limit)
    rows = [
        TargetDevice(
            id=r[0],
            label=r[1] or r[2],
            hostname=r[2],
            os_family=r[3],
            status=r[4],
            customer=r[5],
            site=r[6],
            is_demo=r[7],
        )
        for r in (await session.execute(stmt)).all()
    ]
    if len(rows) < limit:
        return rows, len(rows)
    count = select(func.count()).select_from(Device).join(Site, Site.id == Device.site_id)
    count = count.join(Customer, Customer.id == Site.customer_id)
    return rows, int((await session.execute(filter_devices(count, org_id, filters))).scalar_one())


def too_many(total: int) -> ToolError:
    """The error for a selection past :data:`MAX_TARGETS`."""
    return ToolError(
        f"{total} devices match, but one action may target at most {MAX_TARGETS}; "
        "narrow the selection (a site, a tag or a group) and run it in parts"
    )


async def resolve_targets(session: AsyncSession, *, org_id: int, targets: Targets) -> list[TargetDevice]:
    """The organisation's devices ``targets`` names, by name (at least one, at most :data:`MAX_TARGETS`).

    Raises:
        ToolNotFoundError: a device id or the group is not in the organisation, or nothing matches
            (an unknown site or customer matches nothing).
        ToolError: more than :data:`MAX_TARGETS` devices match.
    """
    filters = await _filters_for(session, org_id, targets)
    found, total = await match_devices(session, org_id=org_id, filters=filters, limit=MAX_TARGETS + 1)
    if total > MAX_TARGETS:
        raise too_many(total)
    if targets.device_ids:
        missing = sorted(set(targets.device_ids) - {d.id for d in found})
        if missing:
            shown = ", ".join(f"#{i}" for i in missing[:10])
            raise ToolNotFoundError(f"no device {shown} in this organisation; rmm-list-devices lists them")
    elif not found:
        raise ToolNotFoundError(f"no device matches {targets.describe()}; nothing to do")
    return found


async def resolve_ids(session: AsyncSession, *, org_id: int, targets: Targets) -> list[int]:
    """The ids of :func:`resolve_targets` (in name order)."""
    return [d.id for d in await resolve_targets(session, org_id=org_id, targets=targets)]


def names(devices: Sequence[TargetDevice]) -> list[str]:
    """Every target as ``label (Customer / Site)``, for approval cards and results."""
    return [d.where for d in devices]
