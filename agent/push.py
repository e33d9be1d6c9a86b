"""The persistent WebSocket to the hub: commands pushed at once, acks, status and results.

One :class:`PushChannel` keeps one connection open for the life of the agent. After any failure it
reconnects with exponential back-off (1 s doubling up to ``reconnect_max``) and jitter (a random
delay between half and all of the back-off), so thousands of agents do not reconnect in lock-step
after a hub restart. The back-off resets after a successful ``hello_ack``. A close with 4401
(credential revoked) or 4426 (unsupported protocol) is fatal: :meth:`PushChannel.run` raises.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from agent import __version__
from agent.protocol import (
    HELLO_TIMEOUT_SECONDS,
    MAX_MESSAGE_BYTES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    WS_CLOSE_REPLACED,
    WS_CLOSE_UNAUTHORIZED,
    WS_CLOSE_UNSUPPORTED_PROTOCOL,
    AgentApiError,
    CommandAckMessage,
    CommandMessage,
    CommandResult,
    CommandResultMessage,
    CommandSpec,
    CommandStatusMessage,
    ErrorCode,
    ErrorMessage,
    HelloAckMessage,
    HelloMessage,
    PingMessage,
    PongMessage,
    ProtocolError,
    ResultAckMessage,
    parse_server_message,
)

log = logging.getLogger(__name__)
RESULT_ACK_TIMEOUT_SECONDS = 15.0
CommandHandler = Callable[[CommandSpec], Awaitable[None]]


class PushRejected(Exception):
    """The hub refused this agent on the WebSocket (revoked credential or unsupported protocol)."""

    def __init__(self, error: AgentApiError) -> None:
        self.error = error
        super().__init__(f"hub refused the push channel: {error.code}: {error.message}")


def websocket_url(hub_url: str, path: str) -> str:
    """``https://hub/x`` + ``/agent/v1/ws`` -> ``wss://hub/agent/v1/ws`` (``http`` -> ``ws``)."""
    base = hub_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return base + path


def backoff_delay(attempt: int, cap: float, rng: random.Random) -> float:
    """Delay before reconnect ``attempt`` (0-based): between half and all of ``min(cap, 2**attempt)``."""
    ceiling = min(cap, 2.0 ** min(attempt, 30))
    return rng.uniform(ceiling / 2, ceiling)


class PushChannel:
    """Keeps the WebSocket open and routes messages.

    Args:
        url: ``ws(s)://`` URL of the hub's agent WebSocket.
        credential: The device credential sent in ``hello``.
        on_command: Awaited for every pushed command after it was acked; it must not block
            (start the command in a task).
        on_connected: Called after each successful ``hello_ack`` (the runtime flushes its spool).
        reconnect_max: Longest back-off in seconds.
        rng: Random source for jitter (tests pass a seeded one).
    """

    def __init__(
        self,
        url: str,
        credential: str,
        *,
        on_command: CommandHandler,
        on_connected: Callable[[], None] | None = None,
        reconnect_max: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self._credential = credential
        self._on_command = on_command
        self._on_connected = on_connected
        self._reconnect_max = reconnect_max
        self._rng = rng or random.Random()
        self._ws: ClientConnection | None = None
        self._acks: dict[str, asyncio.Future[None]] = {}
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Connect, serve and reconnect until cancelled.

        Raises:
            PushRejected: the hub revoked the credential or does not speak our protocol.
        """
        attempt = 0
        while True:
            replaced = False
            try:
                await self._session()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                if code in (WS_CLOSE_UNAUTHORIZED, WS_CLOSE_UNSUPPORTED_PROTOCOL):
                    raise PushRejected(_close_error(code, exc.rcvd.reason if exc.rcvd else "")) from exc
                replaced = code == WS_CLOSE_REPLACED
                log.info("push channel closed (%s); reconnecting", exc)
            except (OSError, TimeoutError, WebSocketException, ProtocolError) as exc:
                log.info("push channel unavailable (%r); reconnecting", exc)
            finally:
                was_connected = self.connected.is_set()
                self._disconnected()
            attempt = 0 if was_connected else attempt
            if replaced:  # another connection took over: wait the longest back-off
                attempt = max(attempt, 30)
            await asyncio.sleep(backoff_delay(attempt, self._reconnect_max, self._rng))
            attempt += 1

    async def send_result(self, result: CommandResult) -> bool:
        """Send a result and wait for the hub's ``result_ack``; ``False`` when not confirmed."""
        ws = self._ws
        if ws is None:
            return False
        future = self._acks.setdefault(result.command_id, asyncio.get_running_loop().create_future())
        try:
            await ws.send(CommandResultMessage(result=result).model_dump_json())
            async with asyncio.timeout(RESULT_ACK_TIMEOUT_SECONDS):
                await asyncio.shield(future)
        except (ConnectionClosed, TimeoutError):
            return False
        finally:
            self._acks.pop(result.command_id, None)
        return True

    async def send(self, message: CommandAckMessage | CommandStatusMessage | PongMessage) -> bool:
        """Send a message if connected; ``False`` when the channel is down."""
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(message.model_dump_json())
        except ConnectionClosed:
            return False
        return True

    async def _session(self) -> None:
        headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
        async with connect(
            self.url,
            additional_headers=headers,
            user_agent_header=f"rmmhub-agent/{__version__}",
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            open_timeout=HELLO_TIMEOUT_SECONDS,
        ) as ws:
            hello = HelloMessage(
                device_credential=self._credential, protocol_version=PROTOCOL_VERSION, agent_version=__version__
            )
            await ws.send(hello.model_dump_json())
            async with asyncio.timeout(HELLO_TIMEOUT_SECONDS):
                first = parse_server_message(await ws.recv())
            if isinstance(first, ErrorMessage):
                if first.error.code in (ErrorCode.INVALID_CREDENTIAL, ErrorCode.UNSUPPORTED_PROTOCOL):
                    raise PushRejected(first.error)
                raise ProtocolError(f"hub refused hello: {first.error.code}: {first.error.message}")
            if not isinstance(first, HelloAckMessage):
                raise ProtocolError(f"expected hello_ack, got {first.type}")
            self._ws = ws
            self.connected.set()
            if self._on_connected is not None:
                self._on_connected()
            log.info("push channel connected to %s as device %s", self.url, first.device_id)
            async for raw in ws:
                await self._handle(raw)

    async def _handle(self, raw: str | bytes) -> None:
        try:
            message = parse_server_message(raw)
        except ProtocolError as exc:
            log.error("ignoring a message from the hub: %s", exc)
            return
        if isinstance(message, CommandMessage):
            await self.send(CommandAckMessage(command_id=message.command.id))
            await self._on_command(message.command)
        elif isinstance(message, PingMessage):
            await self.send(PongMessage(nonce=message.nonce))
        elif isinstance(message, ResultAckMessage):
            future = self._acks.get(message.command_id)
            if future is not None and not future.done():
                future.set_result(None)
        elif isinstance(message, ErrorMessage):
            log.error("hub reported an error: %s: %s", message.error.code, message.error.message)

    def _disconnected(self) -> None:
        self._ws = None
        self.connected.clear()


def _close_error(code: int, reason: str) -> AgentApiError:
    error_code = ErrorCode.INVALID_CREDENTIAL if code == WS_CLOSE_UNAUTHORIZED else ErrorCode.UNSUPPORTED_PROTOCOL
    return AgentApiError(code=error_code, message=reason or f"WebSocket closed with {code}")
