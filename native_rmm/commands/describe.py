"""Approval descriptions of device actions: names instead of ids, the exact text that will run.

``Run `uname -a` on vm (Contoso / Main office) as root``: the device's name with its customer and
site, the account the agent runs commands as, and for bulk actions every target by name (see
:mod:`hub.core.describe`). Used as the ``describe`` hook of the command and script tools.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import OsFamily
from hub.core.describe import Description, clip_body, with_targets
from hub.core.models import Customer, Site
from native_rmm.models.devices import Device

#: The account the agent's service runs commands as.
RUNS_AS = {OsFamily.WINDOWS: "SYSTEM", OsFamily.LINUX: "root", OsFamily.MACOS: "root"}


async def device_names(session: AsyncSession, *, org_id: int, device_ids: Sequence[int]) -> list[str]:
    """``name (Customer / Site)`` of each device, in the order given (unknown ids as ``device #id``)."""
    if not device_ids:
        return []
    stmt = (
        select(Device.id, Device.display_name, Device.hostname, Customer.name, Site.name)
        .join(Site, Site.id == Device.site_id)
        .join(Customer, Customer.id == Site.customer_id)
        .where(Device.org_id == org_id, Device.id.in_(list(device_ids)))
    )
    found = {row[0]: f"{row[1] or row[2]} ({row[3]} / {row[4]})" for row in (await session.execute(stmt)).all()}
    return [found.get(i, f"device #{i} (not found)") for i in device_ids]


def runs_as(devices: Sequence[Device]) -> str:
    """``as root`` / ``as SYSTEM`` (or both) for the devices' operating systems."""
    accounts = sorted(
        {RUNS_AS.get(d.os_family, "the agent's account") if d.os_family else "the agent's account" for d in devices}
    )
    return "as " + " / ".join(accounts) if accounts else ""


async def on_device(
    session: AsyncSession, device: Device, what: str, *, body: str = "", body_label: str = ""
) -> Description:
    """``<what> on <name (Customer / Site)> as <account>`` for one device."""
    (name,) = await device_names(session, org_id=device.org_id, device_ids=[device.id])
    summary = f"{what} on {name} {runs_as([device])}".strip()
    return Description(summary=summary, body=clip_body(body), body_label=body_label)


async def on_devices(
    session: AsyncSession,
    *,
    org_id: int,
    device_ids: Sequence[int],
    what: str,
    body: str = "",
    body_label: str = "",
    params: dict[str, str] | None = None,
) -> Description:
    """``<what> on <name> as <account>`` for one device, ``<what> on N devices`` with the target list for more."""
    names = await device_names(session, org_id=org_id, device_ids=device_ids)
    devices = (
        (await session.execute(select(Device).where(Device.org_id == org_id, Device.id.in_(list(device_ids)))))
        .scalars()
        .all()
    )
    account = runs_as(devices)
    extra = {"body": clip_body(body), "body_label": body_label, "params": params or {}}
    if len(names) == 1:
        return Description(summary=f"{what} on {names[0]} {account}".strip(), **extra)
    return with_targets(f"{what} on {len(names)} devices {account}".strip(), names, **extra)
