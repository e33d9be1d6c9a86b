"""Device credentials: issued at enrollment, hashed at rest, rotatable and revocable."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.db import utcnow
from hub.core.security import generate_token, hash_token
from native_rmm.bus import announce
from native_rmm.events import CREDENTIALS_CHANGED, CredentialsChanged
from native_rmm.models.devices import Device, DeviceCredential

CREDENTIAL_PREFIX = "rmd_"


async def issue_credential(session: AsyncSession, *, device_id: int) -> str:
    """Create a credential for a device; the plain value is returned once and never stored."""
    plain = generate_token(CREDENTIAL_PREFIX)
    session.add(DeviceCredential(device_id=device_id, token_hash=hash_token(plain), prefix=plain[:12]))
    await session.flush()
    return plain


async def authenticate(session: AsyncSession, credential: str, *, now: datetime | None = None) -> Device | None:
    """The live device a credential belongs to, or None (unknown, revoked, expired, uninstalled)."""
    now = now or utcnow()
    stmt = (
        select(Device)
        .join(DeviceCredential, DeviceCredential.device_id == Device.id)
        .where(
            DeviceCredential.token_hash == hash_token(credential),
            DeviceCredential.revoked_at.is_(None),
            or_(DeviceCredential.expires_at.is_(None), DeviceCredential.expires_at > now),
            Device.uninstalled_at.is_(None),
        )
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def rotate_credential(
    session: AsyncSession, *, device_id: int, grace: timedelta, now: datetime | None = None
) -> str:
    """Issue a new credential; the current ones stay valid for ``grace`` (the answer may be lost)."""
    now = now or utcnow()
    await session.execute(
        update(DeviceCredential)
        .where(
            DeviceCredential.device_id == device_id,
            DeviceCredential.revoked_at.is_(None),
            or_(DeviceCredential.expires_at.is_(None), DeviceCredential.expires_at > now + grace),
        )
        .values(expires_at=now + grace)
    )
    announce(session, CREDENTIALS_CHANGED, CredentialsChanged(device_id=device_id), org_id=None)
    return await issue_credential(session, device_id=device_id)


async def revoke_credentials(session: AsyncSession, *, device_id: int, reason: str, now: datetime | None = None) -> int:
    """Revoke every live credential of a device; returns how many. The agent must re-enroll."""
    result = await session.execute(
        update(DeviceCredential)
        .where(DeviceCredential.device_id == device_id, DeviceCredential.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_reason=reason[:100])
    )
    # Every replica closes the device's live socket on this event (native_rmm.commands.push).
    announce(session, CREDENTIALS_CHANGED, CredentialsChanged(device_id=device_id, revoked=True), org_id=None)
    return int(result.rowcount)  # type: ignore[attr-defined]
