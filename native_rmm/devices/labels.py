"""What operators say about devices: assigned user, description, tags, and where a device belongs.

Services for ``rmm-update-device``, ``rmm-tag-devices`` and ``rmm-move-devices`` (flush, never
commit; every change audited). The agent-reported users are applied by
:func:`native_rmm.devices.inventory.apply_users`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import Actor, AuditEvent
from hub.core.errors import ToolError
from native_rmm.devices.customers import open_site
from native_rmm.devices.queries import tags_of
from native_rmm.devices.targets import TargetDevice
from native_rmm.models.devices import Device, DeviceTag

#: Tags one device may carry.
MAX_TAGS_PER_DEVICE = 50


def _changed(session: AsyncSession, *, org_id: int, actor: Actor, outcome: str, **detail: object) -> None:
    audit.record(session, event=AuditEvent.DEVICE_CHANGED, actor=actor, org_id=org_id, outcome=outcome,
                 detail=dict(detail))  # fmt: skip


async def all_tags(session: AsyncSession, *, org_id: int) -> list[str]:
    """Every tag in use in the organisation (for pickers)."""
    stmt = (
        select(DeviceTag.tag).join(Device, Device.id == DeviceTag.device_id).where(Device.org_id == org_id).distinct()
    )
    return sorted((await session.execute(stmt)).scalars())


async def change_tags(
    session: AsyncSession, *, org_id: int, devices: Sequence[TargetDevice], add: Sequence[str] = (),
    remove: Sequence[str] = (), replace: Sequence[str] | None = None, actor: Actor,
) -> dict[int, list[str]]:  # fmt: skip
    """Add / remove tags on devices (or ``replace`` their tags); returns each device's tags after.

    Raises:
        ToolError: a device would carry more than :data:`MAX_TAGS_PER_DEVICE` tags.
    """
    ids = [d.id for d in devices]
    current = await tags_of(session, device_ids=ids)
    drop = set(remove)
    for device in devices:
        have = set(current[device.id])
        want = set(replace) if replace is not None else (have | set(add)) - drop
        if len(want) > MAX_TAGS_PER_DEVICE:
            raise ToolError(f"{device.label} would carry {len(want)} tags; a device may have {MAX_TAGS_PER_DEVICE}")
        gone = have - want
        if gone:
            await session.execute(delete(DeviceTag).where(DeviceTag.device_id == device.id, DeviceTag.tag.in_(gone)))
        session.add_all(DeviceTag(device_id=device.id, tag=t) for t in sorted(want - have))
        current[device.id] = sorted(want)
    await session.flush()
    _changed(session, org_id=org_id, actor=actor, outcome="device.tagged", device_ids=ids[:500], add=list(add),
             remove=list(remove), replace=None if replace is None else list(replace))  # fmt: skip
    return current


async def move_devices(
    session: AsyncSession, *, org_id: int, devices: Sequence[TargetDevice], site_id: int, actor: Actor
) -> tuple[str, str]:
    """Move devices to a site (of any active customer); returns the (customer, site) names.

    Raises:
        NotFound: no such site in the organisation.
        Conflict: the site or its customer is archived.
    """
    site, customer = await open_site(session, org_id=org_id, site_id=site_id)
    ids = [d.id for d in devices]
    rows = (await session.execute(select(Device).where(Device.org_id == org_id, Device.id.in_(ids)))).scalars()
    moved = []
    for device in rows:
        if device.site_id != site.id:
            moved.append({"device_id": device.id, "from_site_id": device.site_id})
            device.site_id = site.id
    await session.flush()
    _changed(session, org_id=org_id, actor=actor, outcome="device.moved", site_id=site.id, moved=moved[:500])
    return customer.name, site.name


async def update_device(session: AsyncSession, device: Device, *, actor: Actor, fields: dict[str, str]) -> Device:
    """Set the operator-edited fields given (display_name, description, assigned_user_name/email)."""
    before = {k: getattr(device, k) for k in fields}
    for key, value in fields.items():
        setattr(device, key, value.strip())
    await session.flush()
    _changed(session, org_id=device.org_id, actor=actor, outcome="device.updated", device_id=device.id,
             before=before, after={k: getattr(device, k) for k in fields})  # fmt: skip
    return device
