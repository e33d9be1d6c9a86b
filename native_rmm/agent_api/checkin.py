"""The check-in: in the steady state no database work at all; reads and writes only for changes.

Steady state (credential cached, nothing pending for the device, no inventory or list change):
the answer comes from :class:`~native_rmm.devices.checkin_cache.CheckinCache` and the sample plus the
liveness update go to :class:`~native_rmm.ingest.writer.IngestWriter`; the request itself touches
no connection. Otherwise one transaction authenticates, applies inventory deltas and changed
lists, and reads the unacknowledged commands (it commits only when something was written);
queued commands handed out are marked ``delivered`` through the writer.
"""

from __future__ import annotations

import time

from agent.protocol import CheckinRequest, CheckinResponse, CommandStatus, negotiate_protocol_version
from hub.core.db import utcnow
from hub.core.security import hash_token
from native_rmm.commands.service import pending_for_device, to_spec
from native_rmm.devices import credentials, rustdesk
from native_rmm.devices.checkin_cache import CachedDevice
from native_rmm.devices.inventory import apply_inventory, replace_applications, sync_patches
from native_rmm.errors import invalid_credential
from native_rmm.ingest.writer import SampleItem
from native_rmm.models.devices import DeviceStatus
from native_rmm.plane import DevicePlane


def _needs_database(entry: CachedDevice | None, request: CheckinRequest, *, no_pending: bool) -> bool:
    if entry is None or not no_pending or request.inventory is not None or request.rustdesk is not None:
        return True
    if request.applications is not None and request.applications_hash != entry.applications_hash:
        return True
    return request.pending_patches is not None and request.patches_hash != entry.patches_hash


async def require_known_credential(plane: DevicePlane, credential: str) -> None:
    """Refuse an unknown credential before the body is parsed (a cached one costs no database work).

    Raises:
        AgentRequestError: 401 unknown/revoked credential or uninstalled device.
    """
    if plane.cache.get(hash_token(credential)) is not None:
        return
    async with plane.db.transaction() as session:
        if await credentials.authenticate(session, credential) is None:
            raise invalid_credential()


async def handle_checkin(plane: DevicePlane, *, credential: str, request: CheckinRequest) -> CheckinResponse:
    """Apply one check-in and answer with the commands the agent has not acknowledged yet.

    Raises:
        AgentRequestError: 401 unknown/revoked credential or uninstalled device.
        UnsupportedProtocolVersion: the body's protocol version is not spoken here.
        IngestBusy: the sample queue stayed full (503; the agent retries).
    """
    version = negotiate_protocol_version(request.protocol_version)
    now = utcnow()
    token_hash = hash_token(credential)
    cache = plane.cache
    entry = cache.get(token_hash)
    commands_out = []
    handed_out: list[tuple[int, int]] = []
    if _needs_database(entry, request, no_pending=entry is not None and cache.has_no_pending(entry.device_id)):
        async with plane.db.transaction() as session:
            device = await credentials.authenticate(session, credential, now=now)
            if device is None:
                raise invalid_credential()
            if request.inventory is not None:
                apply_inventory(device, request.inventory, now=now)
            if request.applications is not None and request.applications_hash is not None:
                await replace_applications(
                    session, device, request.applications, content_hash=request.applications_hash
                )
            if request.pending_patches is not None and request.patches_hash is not None:
                await sync_patches(session, device, request.pending_patches, content_hash=request.patches_hash, now=now)
            if request.rustdesk is not None:
                await rustdesk.record_report(session, device, request.rustdesk, now=now)
            generation = cache.generation(device.id)
            pending = await pending_for_device(session, device_id=device.id)
            commands_out = [to_spec(c) for c in pending]
            handed_out = [(c.id, c.timeout_seconds) for c in pending if c.status is CommandStatus.QUEUED]
            entry = CachedDevice(
                device_id=device.id, org_id=device.org_id, status=device.status,
                applications_hash=device.applications_hash, patches_hash=device.patches_hash,
                has_inventory=device.inventory_at is not None,
                checkin_interval_seconds=device.checkin_interval_seconds, cached_at=time.monotonic(),
            )  # fmt: skip
        cache.put(token_hash, entry)
        if not pending:
            cache.mark_no_pending(entry.device_id, generation)
    assert entry is not None
    for command_id, timeout in handed_out:
        await plane.delivered(command_id, timeout, now)
    away = entry.status is not DeviceStatus.ONLINE
    await plane.writer.submit(
        SampleItem(entry.org_id, entry.device_id, request.metrics, now, request.agent_version, refresh_status=away)
    )
    return CheckinResponse(
        protocol_version=version,
        commands=commands_out,
        checkin_interval_seconds=entry.checkin_interval_seconds,
        applications_hash=entry.applications_hash,
        patches_hash=entry.patches_hash,
        inventory_requested=not entry.has_inventory,
        server_time=now,
    )
