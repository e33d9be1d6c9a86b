"""``GET /agent/v1/ws``: the persistent agent WebSocket (hello, pushes, acks, results, pings).

Sequence: accept; the agent's ``hello`` within ``HELLO_TIMEOUT_SECONDS`` (else close 4400);
credential check (``error`` + close 4401) and version negotiation (``error`` + close 4426);
``hello_ack``; the connection is registered (an older socket of the device closes with 4409, on
any replica) and everything the agent has not acknowledged is pushed. Then: ``command_ack`` ->
acknowledged (batched), ``command_status`` -> running, ``command_result`` -> stored and confirmed
with ``result_ack`` (repeats too), ``pong`` -> liveness (batched). A ping goes out every
``ws_ping_interval_seconds``; a socket that leaves one unanswered for two intervals is closed
(1011). A result for a command that is not this device's gets an ``unknown_command`` error message
and the socket stays open. A malformed message gets ``error`` and close 4400. A revoked credential closes the socket with
4401 on whichever replica holds it (``native_rmm.commands.push``), and every status or result is
checked against the credential in the transaction that stores it, so nothing is accepted from a
credential once it is revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import update
from starlette.websockets import WebSocketState

from agent.protocol import (
    HELLO_TIMEOUT_SECONDS,
    PROTOCOL_HEADER,
    WEBSOCKET_PATH,
    WS_CLOSE_PROTOCOL_ERROR,
    WS_CLOSE_REPLACED,
    WS_CLOSE_UNAUTHORIZED,
    WS_CLOSE_UNSUPPORTED_PROTOCOL,
    AgentApiError,
    CommandAckMessage,
    CommandResultMessage,
    CommandStatus,
    CommandStatusMessage,
    ErrorCode,
    ErrorMessage,
    HelloAckMessage,
    HelloMessage,
    PingMessage,
    PongMessage,
    ProtocolError,
    ResultAckMessage,
    UnsupportedProtocolVersion,
    negotiate_protocol_version,
    parse_agent_message,
    unsupported_protocol_error,
)
from hub.core.db import utcnow
from hub.core.deps import hub_of
from native_rmm.agent_api.payloads import capped_result_data
from native_rmm.commands import service as commands
from native_rmm.commands.push import AgentConnection, command_message
from native_rmm.devices import credentials
from native_rmm.errors import AgentRequestError
from native_rmm.events import DEVICE_CONNECTED, DeviceConnected
from native_rmm.ingest.writer import AckedItem, WsSeenItem
from native_rmm.models.devices import Device, DeviceStatus
from native_rmm.plane import DevicePlane

log = logging.getLogger(__name__)
router = APIRouter(tags=["agent"])
WS_CLOSE_PINGS_UNANSWERED = 1011


class _Refused(Exception):
    def __init__(self, close_code: int, error: AgentApiError) -> None:
        super().__init__(error.message)
        self.close_code = close_code
        self.error = error


def _refusal(close_code: int, code: ErrorCode, message: str) -> _Refused:
    return _Refused(close_code, AgentApiError(code=code, message=message))


def _parse(raw: str | bytes) -> object:
    """Parse an agent message; an over-cap result is truncated rather than refused."""
    try:
        return parse_agent_message(raw)
    except ProtocolError as first:
        try:
            data = json.loads(raw)
        except ValueError:
            raise first from None
        if not (isinstance(data, dict) and data.get("type") == "command_result"):
            raise
        return parse_agent_message(json.dumps({**data, "result": capped_result_data(data.get("result"))}))


class AgentSocket:
    """One agent WebSocket session."""

    def __init__(self, plane: DevicePlane, websocket: WebSocket) -> None:
        self.plane = plane
        self.ws = websocket
        self.conn: AgentConnection | None = None
        self._awaiting_nonce: str | None = None
        self._ping_sent = 0.0
        self._credential = ""

    async def run(self) -> None:
        await self.ws.accept()
        try:
            device_id, org_id, version = await self._handshake()
        except _Refused as refused:
            await self._send_error_and_close(refused.close_code, refused.error)
            return
        except WebSocketDisconnect:
            return
        conn = AgentConnection(
            device_id=device_id,
            org_id=org_id,
            connection_id=uuid.uuid4().hex,
            send=self.ws.send_text,
            close=self._close,
        )
        self.conn = conn
        conn.enqueue(
            HelloAckMessage(
                protocol_version=version,
                device_id=str(device_id),
                ping_interval_seconds=self.plane.settings.ws_ping_interval_seconds,
            ).model_dump_json()
        )
        previous = self.plane.registry.register(conn)
        if previous is not None:
            await previous.close(WS_CLOSE_REPLACED, "another connection of this device took over")
        try:
            await self._connected(conn, version)
            await self._serve(conn)
        finally:
            conn.closed.set()
            self.plane.registry.unregister(conn)
            try:
                await self._disconnected(conn)
            finally:
                conn.ended.set()

    async def _handshake(self) -> tuple[int, int, int]:
        header = self.ws.headers.get(PROTOCOL_HEADER)
        try:
            if header is not None and header.strip().isdigit():
                negotiate_protocol_version(int(header))
            async with asyncio.timeout(HELLO_TIMEOUT_SECONDS):
                raw = await self._receive()
            hello = parse_agent_message(raw) if raw is not None else None
            if not isinstance(hello, HelloMessage):
                raise _refusal(WS_CLOSE_PROTOCOL_ERROR, ErrorCode.MALFORMED_PAYLOAD, "the first message must be hello")
            version = negotiate_protocol_version(hello.protocol_version)
        except TimeoutError as exc:
            raise _refusal(
                WS_CLOSE_PROTOCOL_ERROR, ErrorCode.MALFORMED_PAYLOAD, f"no hello within {HELLO_TIMEOUT_SECONDS} s"
            ) from exc
        except UnsupportedProtocolVersion as exc:
            raise _Refused(WS_CLOSE_UNSUPPORTED_PROTOCOL, unsupported_protocol_error(exc)) from exc
        except ProtocolError as exc:
            raise _refusal(WS_CLOSE_PROTOCOL_ERROR, ErrorCode.MALFORMED_PAYLOAD, str(exc)[:4000]) from exc
        now = utcnow()
        async with self.plane.db.transaction() as session:
            device = await credentials.authenticate(session, hello.device_credential, now=now)
            self._credential = hello.device_credential
            if device is None:
                raise _refusal(
                    WS_CLOSE_UNAUTHORIZED,
                    ErrorCode.INVALID_CREDENTIAL,
                    "the device credential is unknown, revoked or expired; re-enroll the agent",
                )
            device.agent_version, device.protocol_version = hello.agent_version, version
            return device.id, device.org_id, version

    async def _connected(self, conn: AgentConnection, version: int) -> None:
        now = utcnow()
        await self.plane.bus.publish(
            DEVICE_CONNECTED.event(
                conn.org_id, DeviceConnected(device_id=conn.device_id, connection_id=conn.connection_id)
            )
        )
        # One UPDATE naming every column: a replaced socket's disconnect (``ws_connected=False`` where
        # the connection id is still its own) lands wholly before or after it. Setting loaded ORM
        # attributes lost that race: ``ws_connected`` read as True was left out of the flush.
        async with self.plane.db.transaction() as session:
            status = (
                await session.execute(
                    update(Device)
                    .where(Device.id == conn.device_id)
                    .values(ws_connected=True, ws_connection_id=conn.connection_id, ws_seen_at=now, last_seen_at=now)
                    .returning(Device.status)
                )
            ).scalar_one()
            away = status is not DeviceStatus.ONLINE
        await push_pending(self.plane, [conn])
        if away:
            await self.plane.writer.submit(WsSeenItem(conn.device_id, now, refresh_status=True))

    async def _disconnected(self, conn: AgentConnection) -> None:
        async with self.plane.db.transaction() as session:
            await session.execute(
                update(Device)
                .where(Device.id == conn.device_id, Device.ws_connection_id == conn.connection_id)
                .values(ws_connected=False)
            )

    async def _serve(self, conn: AgentConnection) -> None:
        tasks = [
            asyncio.create_task(self._sender(conn), name=f"ws-send-{conn.device_id}"),
            asyncio.create_task(self._receiver(conn), name=f"ws-recv-{conn.device_id}"),
            asyncio.create_task(self._pinger(conn), name=f"ws-ping-{conn.device_id}"),
            asyncio.create_task(conn.closed.wait(), name=f"ws-closed-{conn.device_id}"),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                    await task  # the session is over; how each side ended is already logged

    async def _sender(self, conn: AgentConnection) -> None:
        try:
            await conn.run_sender()
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            log.info("device %s: WebSocket send failed (%r); closing", conn.device_id, exc)

    async def _receive(self) -> str | bytes | None:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text: str | None = message.get("text")
        return text if text is not None else message.get("bytes")

    async def _receiver(self, conn: AgentConnection) -> None:
        while True:
            raw = await self._receive()
            if raw is None:
                continue
            try:
                message = _parse(raw)
            except ProtocolError as exc:
                await self._protocol_error(conn, str(exc))
                return
            if isinstance(message, HelloMessage):
                await self._protocol_error(conn, "hello was already received on this connection")
                return
            await self._handle(conn, message)

    async def _handle(self, conn: AgentConnection, message: object) -> None:
        now = utcnow()
        writer = self.plane.writer
        if isinstance(message, CommandAckMessage):
            await writer.submit(AckedItem(conn.device_id, message.command_id, now))
        elif isinstance(message, PongMessage):
            if message.nonce == self._awaiting_nonce:
                self._awaiting_nonce = None
            await writer.submit(WsSeenItem(conn.device_id, now))
        elif isinstance(message, CommandStatusMessage):
            await self._store(conn, message)
        elif isinstance(message, CommandResultMessage) and await self._store(conn, message):
            conn.enqueue(ResultAckMessage(command_id=message.result.command_id).model_dump_json())

    async def _store(self, conn: AgentConnection, message: CommandStatusMessage | CommandResultMessage) -> bool:
        try:
            async with self.plane.db.transaction() as session:
                if await credentials.authenticate(session, self._credential) is None:
                    # Revoked (or expired) since the hello: nothing more is accepted on this socket.
                    await conn.close(WS_CLOSE_UNAUTHORIZED, "the device credential was revoked")
                    return False
                if isinstance(message, CommandStatusMessage):
                    await commands.record_running(
                        session,
                        device_id=conn.device_id,
                        update_msg=message.update,
                        grace_seconds=self.plane.settings.command_grace_seconds,
                        bus=self.plane.bus,
                    )
                else:
                    await commands.record_result(
                        session, device_id=conn.device_id, result=message.result, bus=self.plane.bus
                    )
        except AgentRequestError as exc:
            error = AgentApiError(code=exc.code, message=exc.message)
            conn.enqueue(ErrorMessage(error=error).model_dump_json())
            return False
        return True

    async def _pinger(self, conn: AgentConnection) -> None:
        interval = self.plane.settings.ws_ping_interval_seconds
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            if self._awaiting_nonce is not None:
                if loop.time() - self._ping_sent >= 2 * interval:
                    log.info("device %s left a ping unanswered for %d s; closing", conn.device_id, 2 * interval)
                    await conn.close(WS_CLOSE_PINGS_UNANSWERED, "pings unanswered")
                    return
                continue
            self._awaiting_nonce, self._ping_sent = secrets.token_hex(8), loop.time()
            conn.enqueue(PingMessage(nonce=self._awaiting_nonce).model_dump_json())

    async def _protocol_error(self, conn: AgentConnection, message: str) -> None:
        conn.closed.set()
        await self._send_error_and_close(
            WS_CLOSE_PROTOCOL_ERROR, AgentApiError(code=ErrorCode.MALFORMED_PAYLOAD, message=message[:4000])
        )

    async def _send_error_and_close(self, code: int, error: AgentApiError) -> None:
        if self.ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # the agent may be gone already
                await self.ws.send_text(ErrorMessage(error=error).model_dump_json())
        await self._close(code, error.message[:120])

    async def _close(self, code: int, reason: str) -> None:
        if self.ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # closing twice is harmless
                await self.ws.close(code, reason[:120])


async def push_pending(plane: DevicePlane, conns: list[AgentConnection]) -> int:
    """Push every command these connections' agents have not acknowledged; returns how many.

    Runs when a socket opens and after the bus reconnects (a ``command.queued`` may have been
    missed while it was down). Agents ignore a command they already hold (their ledger).
    """
    now, pushed = utcnow(), 0
    for conn in conns:
        async with plane.db.transaction() as session:
            pending = await commands.pending_for_device(session, device_id=conn.device_id)
            specs = [(c.id, c.status, commands.to_spec(c)) for c in pending]
        for command_id, status, spec in specs:
            if conn.enqueue(command_message(spec)):
                pushed += 1
                if status is CommandStatus.QUEUED:
                    await plane.delivered(command_id, spec.timeout_seconds, now)
    return pushed


@router.websocket(WEBSOCKET_PATH)
async def agent_socket(websocket: WebSocket) -> None:
    """The agent's push channel."""
    plane = hub_of(websocket).components.get(DevicePlane)
    await AgentSocket(plane, websocket).run()
