"""``/agent/v1`` HTTP routes (thin: read, parse, call a service, answer). The WebSocket is in :mod:`.ws`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import (
    CHECKIN_PATH,
    COMMAND_RESULT_PATH,
    COMMAND_STATUS_PATH,
    DEREGISTER_PATH,
    ENROLL_PATH,
    MAX_MESSAGE_BYTES,
    PROTOCOL_HEADER,
    RUSTDESK_SETUP_PATH,
    SUPPORTED_PROTOCOL_VERSIONS,
    WHEEL_PATH,
    AgentApiError,
    CheckinRequest,
    CommandStatusUpdate,
    DeregisterRequest,
    EnrollRequest,
    ErrorCode,
    RustDeskSetupRequest,
)
from hub.core.db import utcnow
from hub.core.deps import hub_of
from native_rmm.agent_api import checkin as checkin_service
from native_rmm.agent_api.errors import AgentRoute, error_response
from native_rmm.agent_api.payloads import bearer, parse, parse_result, protocol_version, read_body
from native_rmm.agent_api.schemas import CREDENTIAL_ROTATE_PATH, PING_PATH, CredentialRotateResponse
from native_rmm.commands import service as commands
from native_rmm.devices import credentials, enrollment, rustdesk
from native_rmm.devices.service import mark_uninstalled
from native_rmm.errors import invalid_credential
from native_rmm.installers.wheel import WheelBuildError
from native_rmm.models.devices import Device
from native_rmm.plane import DevicePlane
from native_rmm.updates.signing import UpdateSigner

router = APIRouter(route_class=AgentRoute, tags=["agent"])
SMALL_BODY = 64 * 1024
ENROLL_BODY = 256 * 1024
PING_BODY = b'{"status":"ok"}'
COMPONENT_REF = "#/components/schemas/{model}"


def plane_of(request: Request) -> DevicePlane:
    """The device plane of this process."""
    plane = hub_of(request).components.get(DevicePlane)
    return plane


def _json(model_json: str, version: int, status: int = 200) -> Response:
    return Response(
        model_json, status_code=status, media_type="application/json", headers={PROTOCOL_HEADER: str(version)}
    )


def _empty(version: int) -> Response:
    return Response(status_code=204, headers={PROTOCOL_HEADER: str(version)})


async def _device(session: AsyncSession, request: Request) -> Device:
    device = await credentials.authenticate(session, bearer(request))
    if device is None:
        raise invalid_credential()
    return device


@router.get(PING_PATH, include_in_schema=False)
async def ping() -> Response:
    """Liveness without any database work (the check-in benchmark's baseline)."""
    return Response(PING_BODY, media_type="application/json")


def _enroll_schema() -> dict[str, Any]:
    schema = EnrollRequest.model_json_schema(ref_template=COMPONENT_REF)
    # Only the versions spoken here are accepted (others answer 426).
    schema["properties"]["protocol_version"] = {"type": "integer", "enum": sorted(SUPPORTED_PROTOCOL_VERSIONS)}
    return schema


#: How the enrolment request looks on the wire (the route reads it raw, capped, before parsing).
ENROLL_OPENAPI = {
    "parameters": [
        {
            "name": PROTOCOL_HEADER,
            "in": "header",
            "required": True,
            "schema": {"type": "integer", "enum": sorted(SUPPORTED_PROTOCOL_VERSIONS)},
        },
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _enroll_schema()}},
    },
}


@router.post(ENROLL_PATH, status_code=201, openapi_extra=ENROLL_OPENAPI)
async def enroll(request: Request) -> Response:
    """Exchange an installer token for a device id and credential."""
    plane = plane_of(request)
    version = protocol_version(request)
    body = parse(EnrollRequest, await read_body(request, ENROLL_BODY))
    async with plane.db.transaction() as session:
        _, response = await enrollment.enroll(session, body, settings=plane.settings)
    response = response.model_copy(update={"update_public_key": UpdateSigner(plane.hub_settings.secret).public_key})
    return _json(response.model_dump_json(), version, 201)


@router.post(CHECKIN_PATH)
async def checkin(request: Request) -> Response:
    """Metrics, inventory delta, changed lists in; unacknowledged commands out."""
    plane = plane_of(request)
    credential = bearer(request)
    await checkin_service.require_known_credential(plane, credential)
    version = protocol_version(request)
    body = parse(CheckinRequest, await read_body(request, MAX_MESSAGE_BYTES))
    response = await checkin_service.handle_checkin(plane, credential=credential, request=body)
    return _json(response.model_dump_json(), version)


@router.post(COMMAND_STATUS_PATH, status_code=204)
async def command_status(request: Request) -> Response:
    """The agent started a command."""
    plane = plane_of(request)
    raw = await read_body(request, SMALL_BODY)
    async with plane.db.transaction() as session:
        device = await _device(session, request)
        version = protocol_version(request)
        body = parse(CommandStatusUpdate, raw)
        await commands.record_running(
            session,
            device_id=device.id,
            update_msg=body,
            grace_seconds=plane.settings.command_grace_seconds,
            bus=plane.bus,
        )
    return _empty(version)


@router.post(COMMAND_RESULT_PATH, status_code=204)
async def command_result(request: Request) -> Response:
    """A command's outcome; the first one is kept, repeats are acknowledged (204) and dropped."""
    plane = plane_of(request)
    raw = await read_body(request, MAX_MESSAGE_BYTES)
    async with plane.db.transaction() as session:
        device = await _device(session, request)
        version = protocol_version(request)
        await commands.record_result(session, device_id=device.id, result=parse_result(raw), bus=plane.bus)
    return _empty(version)


@router.post(DEREGISTER_PATH, status_code=204)
async def deregister(request: Request) -> Response:
    """The agent is removing itself: credential revoked, device shown as uninstalled."""
    plane = plane_of(request)
    raw = await read_body(request, SMALL_BODY)
    async with plane.db.transaction() as session:
        device = await _device(session, request)
        version = protocol_version(request)
        body = parse(DeregisterRequest, raw)
        await mark_uninstalled(session, device, reason=body.reason.value, bus=plane.bus)
    return _empty(version)


@router.post(CREDENTIAL_ROTATE_PATH)
async def rotate_credential(request: Request) -> Response:
    """Issue a new device credential (the current one stays valid for the rotation grace period)."""
    plane = plane_of(request)
    async with plane.db.transaction() as session:
        device = await _device(session, request)
        version = protocol_version(request)
        plain = await enrollment.rotate(session, device, settings=plane.settings)
    answer = CredentialRotateResponse(
        device_id=str(device.id),
        device_credential=plain,
        previous_valid_until=utcnow() + timedelta(minutes=plane.settings.credential_rotation_grace_minutes),
    )
    return _json(answer.model_dump_json(), version)


@router.post(RUSTDESK_SETUP_PATH)
async def rustdesk_setup(request: Request) -> Response:
    """The RustDesk set-up, with its permanent password, for the ``install_rustdesk`` command this device runs
    now (404 for any other command: the password is handed out only to the device, only while installing)."""
    plane = plane_of(request)
    raw = await read_body(request, SMALL_BODY)
    async with plane.db.transaction() as session:
        device = await _device(session, request)
        version = protocol_version(request)
        body = parse(RustDeskSetupRequest, raw)
        setup = await rustdesk.command_setup(session, device, body.command_id)
    return _json(setup.model_dump_json(), version)


@router.get(WHEEL_PATH, response_class=FileResponse, responses={200: {"content": {"application/octet-stream": {}}}})
async def agent_wheel(request: Request) -> Response:
    """The agent wheel the installers pip-install (built from ``agent/`` once per process)."""
    try:
        path = await plane_of(request).wheel.wheel()
    except WheelBuildError as exc:
        return error_response(503, AgentApiError(code=ErrorCode.INTERNAL, message=str(exc)[:4096]))
    return FileResponse(path, media_type="application/octet-stream", filename=path.name)
