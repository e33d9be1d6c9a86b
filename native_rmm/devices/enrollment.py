"""Enrollment: an installer token becomes a device and its credential; credential rotation."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import EnrollRequest, EnrollResponse, negotiate_protocol_version
from hub.core.db import utcnow
from native_rmm.devices import credentials, rustdesk
from native_rmm.installers import service as installers
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.settings import RmmSettings


def _support_code() -> str:
    digits = f"{secrets.randbelow(10**9):09d}"
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


async def enroll(
    session: AsyncSession, request: EnrollRequest, *, settings: RmmSettings, now: datetime | None = None
) -> tuple[Device, EnrollResponse]:
    """Consume one use of the installer token and create the device with its credential.

    The device lands in the installer's site (Base installer: the ``Unassigned`` site). Quick-
    support enrollments get a support code and a session expiry (the installer's, else
    ``quick_support_session_hours``).

    Raises:
        AgentRequestError: 401 unknown token, 403 revoked/expired/used-up installer.
        UnsupportedProtocolVersion: the agent's protocol version is not spoken here.
    """
    now = now or utcnow()
    version = negotiate_protocol_version(request.protocol_version)
    installer = await installers.consume_token(session, request.installer_token, now=now)
    quick = request.quick_support or installer.quick_support
    expires = None
    if quick:
        expires = installer.expires_at or now + timedelta(hours=settings.quick_support_session_hours)
    device = Device(
        org_id=installer.org_id,
        site_id=await installers.landing_site(session, installer),
        installer_id=installer.id,
        hostname=request.hostname,
        os_family=request.os_family,
        os_name=request.os_name,
        os_version=request.os_version,
        hardware=request.hardware.model_dump(mode="json") if request.hardware else {},
        agent_version=request.agent_version,
        protocol_version=version,
        checkin_interval_seconds=settings.checkin_interval_seconds,
        last_seen_at=now,
        status=DeviceStatus.ONLINE,
        status_changed_at=now,
        quick_support=quick,
        support_code=_support_code() if quick else None,
        session_expires_at=expires,
        ip_addresses=[],
        interfaces=[],
    )
    session.add(device)
    await session.flush()
    plain = await credentials.issue_credential(session, device_id=device.id)
    rustdesk_setup = await rustdesk.enrollment_setup(session, device, installer, settings=settings)
    response = EnrollResponse(
        device_id=str(device.id),
        device_credential=plain,
        checkin_interval_seconds=device.checkin_interval_seconds,
        protocol_version=version,
        support_code=device.support_code,
        session_expires_at=expires,
        rustdesk=rustdesk_setup,
    )
    return device, response


async def rotate(session: AsyncSession, device: Device, *, settings: RmmSettings) -> str:
    """A new credential for ``device``; the old one keeps working for the rotation grace period."""
    grace = timedelta(minutes=settings.credential_rotation_grace_minutes)
    return await credentials.rotate_credential(session, device_id=device.id, grace=grace)
