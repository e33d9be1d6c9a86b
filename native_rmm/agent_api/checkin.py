"""The check-in: one read transaction, writes only for what changed, the sample to the batch writer.

The hot path (nothing changed since the last check-in) reads the device by credential and its
unacknowledged commands, and queues the sample, the liveness update and any ``delivered`` marks
for :class:`native_rmm.ingest.writer.IngestWriter`; the request itself commits nothing.
Inventory deltas, a changed application list or changed pending patches are written in the same
transaction (that is when the request does commit).
"""

from __future__ import annotations

from agent.protocol import CheckinRequest, CheckinResponse, CommandStatus, negotiate_protocol_version
from hub.core.db import utcnow
from native_rmm.commands.service import pending_for_device, to_spec
from native_rmm.devices import credentials
from native_rmm.devices.inventory import apply_inventory, replace_applications, sync_patches
from native_rmm.errors import invalid_credential
from native_rmm.ingest.writer import SampleItem
from native_rmm.models.devices import DeviceStatus
from native_rmm.plane import DevicePlane


async def handle_checkin(plane: DevicePlane, *, credential: str, request: CheckinRequest) -> CheckinResponse:
    """Apply one check-in and answer with the commands the agent has not acknowledged yet.

    Raises:
        AgentRequestError: 401 unknown/revoked credential or uninstalled device.
        UnsupportedProtocolVersion: the body's protocol version is not spoken here.
        IngestBusy: the sample queue stayed full (503; the agent retries).
    """
    version = negotiate_protocol_version(request.protocol_version)
    now = utcnow()
    async with plane.db.transaction() as session:
        device = await credentials.authenticate(session, credential, now=now)
        if device is None:
            raise invalid_credential()
        if request.inventory is not None:
            apply_inventory(device, request.inventory, now=now)
        if request.applications is not None and request.applications_hash is not None:
            await replace_applications(session, device, request.applications, content_hash=request.applications_hash)
        if request.pending_patches is not None and request.patches_hash is not None:
            await sync_patches(session, device, request.pending_patches, content_hash=request.patches_hash, now=now)
        commands = await pending_for_device(session, device_id=device.id)
        response = CheckinResponse(
            protocol_version=version,
            commands=[to_spec(c) for c in commands],
            checkin_interval_seconds=device.checkin_interval_seconds,
            applications_hash=device.applications_hash,
            patches_hash=device.patches_hash,
            inventory_requested=device.inventory_at is None,
            server_time=now,
        )
        device_id, org_id, away = device.id, device.org_id, device.status is not DeviceStatus.ONLINE
        handed_out = [(c.id, c.timeout_seconds) for c in commands if c.status is CommandStatus.QUEUED]
    for command_id, timeout in handed_out:
        await plane.delivered(command_id, timeout, now)
    await plane.writer.submit(
        SampleItem(org_id, device_id, request.metrics, now, request.agent_version, refresh_status=away)
    )
    return response
