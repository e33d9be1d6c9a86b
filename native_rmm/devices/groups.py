"""Dynamic device groups: a saved filter that resolves to its devices each time it is used.

A group is a :class:`GroupFilter` (customer, site, OS, status, tag, application installed, open
alert, user, text) stored as JSON; :func:`native_rmm.devices.targets.resolve_targets` turns
``Targets(group=...)`` into the devices it matches at that moment. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import OsFamily
from hub.core import audit
from hub.core.audit import Actor, AuditEvent
from hub.core.bounds import Id
from hub.core.db import utcnow
from hub.core.errors import Conflict, InvalidRequest
from native_rmm.devices.queries import DeviceFilters
from native_rmm.devices.targets import Tag, find_group
from native_rmm.models.devices import DeviceGroup, DeviceStatus


class GroupFilter(BaseModel):
    """What a group's devices have in common (all optional, all combined; at least one set)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Id | None = None
    site_id: Id | None = None
    os_family: OsFamily | None = None
    status: DeviceStatus | None = None
    tag: Tag | None = None
    application: str | None = Field(
        default=None, max_length=255, description="an installed application (name contains)"
    )
    open_alert: bool | None = Field(default=None, description="true: with an open alert; false: without")
    user: str | None = Field(default=None, max_length=200, description="assigned or logged-in user (contains)")
    query: str | None = Field(default=None, max_length=255, description="name, description or IP (contains)")

    def device_filters(self) -> DeviceFilters:
        """The device filter this stands for."""
        return DeviceFilters(
            customer_id=self.customer_id, site_id=self.site_id, os_family=self.os_family, status=self.status,
            tag=self.tag or "", application=self.application or "", open_alert=self.open_alert,
            user=self.user or "", q=self.query or "",
        )  # fmt: skip

    @classmethod
    def of(cls, filters: DeviceFilters) -> GroupFilter:
        """The group filter of a stored device filter."""
        return cls(
            customer_id=filters.customer_id, site_id=filters.site_id, os_family=filters.os_family,
            status=filters.status, tag=filters.tag or None, application=filters.application or None,
            open_alert=filters.open_alert, user=filters.user or None, query=filters.q or None,
        )  # fmt: skip


def _stored(criteria: GroupFilter) -> dict[str, object]:
    if not criteria.model_dump(exclude_none=True):
        raise InvalidRequest("a group needs at least one filter (customer, site, OS, status, tag, application, ...)")
    return criteria.device_filters().model_dump(mode="json", exclude_defaults=True)


async def _name_free(session: AsyncSession, *, org_id: int, name: str, group_id: int | None = None) -> None:
    stmt = select(DeviceGroup.id).where(DeviceGroup.org_id == org_id, func.lower(DeviceGroup.name) == name.lower())
    if group_id is not None:
        stmt = stmt.where(DeviceGroup.id != group_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"a group called {name!r} already exists; pick another name")


def _audit(session: AsyncSession, group: DeviceGroup, actor: Actor, outcome: str) -> None:
    audit.record(session, event=AuditEvent.DEVICE_CHANGED, actor=actor, org_id=group.org_id, outcome=outcome,
                 detail={"group_id": group.id, "name": group.name, "filters": group.filters})  # fmt: skip


async def list_groups(session: AsyncSession, *, org_id: int) -> Sequence[DeviceGroup]:
    """The organisation's groups by name."""
    stmt = select(DeviceGroup).where(DeviceGroup.org_id == org_id).order_by(func.lower(DeviceGroup.name))
    return (await session.execute(stmt)).scalars().all()


async def create_group(
    session: AsyncSession, *, org_id: int, name: str, criteria: GroupFilter, description: str, actor: Actor
) -> DeviceGroup:
    """Save a group."""
    name = name.strip()
    await _name_free(session, org_id=org_id, name=name)
    group = DeviceGroup(org_id=org_id, name=name, description=description.strip(), filters=_stored(criteria),
                        created_by=actor.label)  # fmt: skip
    session.add(group)
    await session.flush()
    _audit(session, group, actor, "group.created")
    return group


async def update_group(
    session: AsyncSession, *, org_id: int, ref: int | str, actor: Actor, name: str | None = None,
    criteria: GroupFilter | None = None, description: str | None = None,
) -> DeviceGroup:  # fmt: skip
    """Change a group's name, filter or description (only the ones given)."""
    group = await find_group(session, org_id=org_id, ref=ref)
    if name is not None and name.strip() != group.name:
        await _name_free(session, org_id=org_id, name=name.strip(), group_id=group.id)
        group.name = name.strip()
    if criteria is not None:
        group.filters = _stored(criteria)
    if description is not None:
        group.description = description.strip()
    group.updated_at = utcnow()
    await session.flush()
    _audit(session, group, actor, "group.updated")
    return group


async def delete_group(session: AsyncSession, *, org_id: int, ref: int | str, actor: Actor) -> DeviceGroup:
    """Remove a saved group (its devices are untouched)."""
    group = await find_group(session, org_id=org_id, ref=ref)
    _audit(session, group, actor, "group.deleted")
    await session.delete(group)
    await session.flush()
    return group
