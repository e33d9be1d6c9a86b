"""Applying what a check-in reports: inventory deltas, the application list and pending patches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import Application, InventoryDelta, Patch, PatchStatus, UserSessions
from native_rmm.models.devices import Device, InstalledApplication, PatchRecord


def apply_inventory(device: Device, delta: InventoryDelta, *, now: datetime) -> None:
    """Replace the fields present in ``delta``; absent fields keep their value."""
    if delta.hostname is not None:
        device.hostname = delta.hostname
    if delta.os_family is not None:
        device.os_family = delta.os_family
    if delta.os_name is not None:
        device.os_name = delta.os_name
    if delta.os_version is not None:
        device.os_version = delta.os_version
    if delta.ip_addresses is not None:
        device.ip_addresses = list(delta.ip_addresses)
        device.primary_ip = _primary_ip(delta.ip_addresses)
    if delta.interfaces is not None:
        device.interfaces = [i.model_dump(mode="json") for i in delta.interfaces]
        if delta.ip_addresses is None:
            device.primary_ip = _primary_ip([ip for i in delta.interfaces if i.is_up for ip in i.ipv4])
    if delta.hardware is not None:
        device.hardware = delta.hardware.model_dump(mode="json")
    if delta.boot_time is not None:
        device.boot_time = delta.boot_time
    if delta.users is not None:
        apply_users(device, delta.users, now=now)
    device.inventory_at = now


def apply_users(device: Device, users: UserSessions, *, now: datetime) -> None:
    """Store who is logged in now and the last user to log in (kept when the agent names none)."""
    device.logged_in_users = [u.model_dump(mode="json", exclude_none=True) for u in users.logged_in]
    device.logged_in_names = " ".join(dict.fromkeys(u.name.lower() for u in users.logged_in))[:1000]
    if users.last_user:
        device.last_user = users.last_user
        device.last_user_at = users.last_login_at
    device.users_at = now


def _primary_ip(addresses: Sequence[str]) -> str | None:
    """The first address that is not loopback or link-local (IPv4 preferred)."""
    usable = [a for a in addresses if not a.startswith(("127.", "::1", "fe80", "169.254."))]
    v4 = [a for a in usable if ":" not in a]
    candidates = v4 or usable
    return candidates[0] if candidates else None


async def replace_applications(
    session: AsyncSession, device: Device, applications: Sequence[Application], *, content_hash: str
) -> None:
    """Store the application list when its hash differs from the stored one (else do nothing)."""
    if device.applications_hash == content_hash:
        return
    await session.execute(delete(InstalledApplication).where(InstalledApplication.device_id == device.id))
    if applications:
        await session.execute(
            insert(InstalledApplication),
            [{"device_id": device.id, "name": a.name, "version": a.version, "publisher": a.publisher}
             for a in applications],
        )  # fmt: skip
    device.applications_hash = content_hash


async def sync_patches(
    session: AsyncSession, device: Device, patches: Sequence[Patch], *, content_hash: str, now: datetime
) -> None:
    """Upsert the reported patches; a pending patch no longer reported is recorded as installed."""
    if device.patches_hash == content_hash:
        return
    existing = {
        p.key: p
        for p in (await session.execute(select(PatchRecord).where(PatchRecord.device_id == device.id))).scalars()
    }
    reported: dict[str, Patch] = {p.id: p for p in patches}
    for key, patch in reported.items():
        record = existing.get(key)
        if record is None:
            session.add(
                PatchRecord(
                    device_id=device.id, key=key, title=patch.title, severity=patch.severity, status=patch.status,
                    first_seen_at=now, updated_at=now,
                    installed_at=now if patch.status is PatchStatus.INSTALLED else None,
                )
            )  # fmt: skip
            continue
        if (record.title, record.severity, record.status) != (patch.title, patch.severity, patch.status):
            record.title, record.severity, record.updated_at = patch.title, patch.severity, now
            if record.status is not patch.status:
                record.status = patch.status
                record.installed_at = now if patch.status is PatchStatus.INSTALLED else None
                record.marked_by = None
    for key, record in existing.items():
        if key not in reported and record.status is PatchStatus.PENDING:
            record.status, record.installed_at, record.updated_at = PatchStatus.INSTALLED, now, now
    device.patches_hash = content_hash
    await session.flush()
