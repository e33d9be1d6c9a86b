"""REST API of notification channels and the delivery log (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hub.core.bounds import Id
from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, SessionDep
from hub.core.notify import service
from hub.core.notify.schemas import ChannelEdit, ChannelIn, ChannelOut, ChannelSettings, CreatedChannel, DeliveryOut

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get("/channels", response_model=list[ChannelOut])
async def list_channels(session: SessionDep, admin: AdminDep) -> list[ChannelOut]:
    """The organisation's channels (no secrets)."""
    return [ChannelOut.of(c) for c in await service.list_channels(session, org_id=admin.user.org_id)]


@router.post("/channels", response_model=CreatedChannel, status_code=201)
async def create_channel(body: ChannelIn, session: SessionDep, admin: AdminDep) -> CreatedChannel:
    """Create a channel; a webhook's signing secret is in this answer only."""
    return await service.create_channel(session, actor=admin.caller(CallerKind.API), data=body)


@router.get("/channels/{channel_id}", response_model=ChannelSettings)
async def get_channel(channel_id: Id, session: SessionDep, admin: AdminDep) -> ChannelSettings:
    """One channel's editable settings (never its password or signing secret)."""
    return ChannelSettings.of(await service.get_channel(session, org_id=admin.user.org_id, channel_id=channel_id))


@router.put("/channels/{channel_id}", response_model=CreatedChannel)
async def update_channel(channel_id: Id, body: ChannelEdit, session: SessionDep, admin: AdminDep) -> CreatedChannel:
    """Change a channel; a blank password keeps the stored one, ``rotate_secret`` answers a new signing secret
    (this once)."""
    return await service.update_channel(session, actor=admin.caller(CallerKind.API), channel_id=channel_id, data=body)


@router.delete("/channels/{channel_id}", status_code=204)
async def delete_channel(channel_id: Id, session: SessionDep, admin: AdminDep) -> Response:
    """Delete a channel and its delivery log."""
    await service.delete_channel(session, actor=admin.caller(CallerKind.API), channel_id=channel_id)
    return Response(status_code=204)


@router.post("/channels/{channel_id}/test", response_model=DeliveryOut)
async def test_channel(channel_id: Id, session: SessionDep, admin: AdminDep) -> DeliveryOut:
    """Send a test message now; the answer says whether it was delivered and, if not, why."""
    return DeliveryOut.of(await service.send_test(session, actor=admin.caller(CallerKind.API), channel_id=channel_id))


@router.get("/deliveries", response_model=list[DeliveryOut])
async def deliveries(session: SessionDep, admin: AdminDep) -> list[DeliveryOut]:
    """The delivery log, newest first."""
    return [DeliveryOut.of(r) for r in await service.deliveries(session, org_id=admin.user.org_id)]
