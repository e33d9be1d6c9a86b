"""A simulated agent speaking :mod:`agent.protocol` over real HTTP and a real WebSocket.

It is not the agent: it sends exactly what a test asks for (including malformed payloads) and
records what the hub answers, with receive timestamps for latency measurements.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agent.protocol import (
    CHECKIN_PATH,
    COMMAND_RESULT_PATH,
    COMMAND_STATUS_PATH,
    DEREGISTER_PATH,
    ENROLL_PATH,
    MAX_MESSAGE_BYTES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    WEBSOCKET_PATH,
    Application,
    CheckinRequest,
    CheckinResponse,
    CommandAckMessage,
    CommandMessage,
    CommandResult,
    CommandResultMessage,
    CommandSpec,
    CommandStatus,
    CommandStatusMessage,
    CommandStatusUpdate,
    DeregisterReason,
    DeregisterRequest,
    DiskInfo,
    DiskUsage,
    EnrollRequest,
    EnrollResponse,
    ErrorMessage,
    Hardware,
    HelloAckMessage,
    HelloMessage,
    InventoryDelta,
    MetricsSample,
    NetworkInterface,
    NetworkThroughput,
    OsFamily,
    Patch,
    PingMessage,
    PongMessage,
    ResultAckMessage,
    content_hash,
    parse_server_message,
)

AGENT_VERSION = "0.1.0-sim"


def now() -> datetime:
    return datetime.now(UTC)


def sample_metrics(
    *,
    cpu: float = 12.5,
    memory: float = 40.0,
    disk: float = 55.0,
    at: datetime | None = None,
    network: tuple[float, float] | None = (120_000.0, 35_000.0),
) -> MetricsSample:
    """A plausible metrics sample (``network``: received and sent bytes per second, None for none)."""
    total = 16 * 1024**3
    return MetricsSample(
        taken_at=at or now(),
        cpu_percent=cpu,
        memory_percent=memory,
        memory_used_bytes=int(total * memory / 100),
        memory_total_bytes=total,
        uptime_seconds=3600,
        load_1=0.5,
        load_5=0.4,
        load_15=0.3,
        network=None
        if network is None
        else NetworkThroughput(recv_bytes_per_s=network[0], sent_bytes_per_s=network[1]),
        disks=[
            DiskUsage(
                mountpoint="/", used_percent=disk, used_bytes=int(250e9 * disk / 100), total_bytes=250_000_000_000
            )
        ],
    )


def sample_inventory(hostname: str) -> InventoryDelta:
    """A full inventory."""
    return InventoryDelta(
        hostname=hostname,
        os_family=OsFamily.LINUX,
        os_name="Debian GNU/Linux",
        os_version="12",
        ip_addresses=["127.0.0.1", "10.0.0.17"],
        interfaces=[NetworkInterface(name="eth0", mac="02:00:00:00:00:01", ipv4=["10.0.0.17"], speed_mbps=1000)],
        hardware=Hardware(
            cpu_model="Sim CPU",
            cpu_cores=4,
            cpu_threads=8,
            ram_bytes=16 * 1024**3,
            disks=[DiskInfo(device="/dev/sda1", mountpoint="/", fstype="ext4", total_bytes=250_000_000_000)],
            manufacturer="Sim",
            model="Sim 1",
            serial_number="SIM-0001",
        ),
        boot_time=now(),
    )


class SimAgent:
    """One simulated endpoint. ``transport`` lets tests talk to the app in-process."""

    def __init__(
        self, base_url: str, *, hostname: str = "SIM-01", transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.hostname = hostname
        self.http = httpx.AsyncClient(
            base_url=self.base_url, transport=transport, timeout=30, headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
        )
        self.device_id: int | None = None
        self.credential: str | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    def _auth(self) -> dict[str, str]:
        assert self.credential, "enroll first"
        return {"Authorization": f"Bearer {self.credential}"}

    async def post(
        self, path: str, content: bytes | str, *, auth: bool = True, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST raw bytes (malformed-payload tests)."""
        h = {"Content-Type": "application/json", **(self._auth() if auth else {}), **(headers or {})}
        return await self.http.post(path, content=content, headers=h)

    async def enroll_raw(self, token: str, **overrides: object) -> httpx.Response:
        body = EnrollRequest(
            installer_token=token,
            hostname=self.hostname,
            os_family=OsFamily.LINUX,
            os_name="Debian GNU/Linux",
            os_version="12",
            agent_version=AGENT_VERSION,
            protocol_version=PROTOCOL_VERSION,
        ).model_copy(update=overrides)
        return await self.post(ENROLL_PATH, body.model_dump_json(), auth=False)

    async def enroll(self, token: str, **overrides: object) -> EnrollResponse:
        """Enroll and remember the credential; raises on any non-201."""
        response = await self.enroll_raw(token, **overrides)
        if response.status_code != 201:
            raise AssertionError(f"enroll failed: {response.status_code} {response.text}")
        answer = EnrollResponse.model_validate_json(response.content)
        self.device_id, self.credential = int(answer.device_id), answer.device_credential
        return answer

    def checkin_body(
        self,
        *,
        metrics: MetricsSample | None = None,
        inventory: InventoryDelta | None = None,
        applications: Sequence[Application] | None = None,
        patches: Sequence[Patch] | None = None,
    ) -> CheckinRequest:
        return CheckinRequest(
            protocol_version=PROTOCOL_VERSION,
            agent_version=AGENT_VERSION,
            metrics=metrics or sample_metrics(),
            inventory=inventory,
            applications_hash=content_hash(applications) if applications is not None else None,
            applications=list(applications) if applications is not None else None,
            patches_hash=content_hash(patches) if patches is not None else None,
            pending_patches=list(patches) if patches is not None else None,
        )

    async def checkin(self, **kwargs: object) -> CheckinResponse:
        """One check-in; raises on any non-200."""
        response = await self.post(CHECKIN_PATH, self.checkin_body(**kwargs).model_dump_json())  # type: ignore[arg-type]
        if response.status_code != 200:
            raise AssertionError(f"check-in failed: {response.status_code} {response.text}")
        return CheckinResponse.model_validate_json(response.content)

    async def report_running(self, command_id: str) -> httpx.Response:
        update = CommandStatusUpdate(command_id=command_id, started_at=now())
        return await self.post(COMMAND_STATUS_PATH, update.model_dump_json())

    async def report_result(self, result: CommandResult) -> httpx.Response:
        return await self.post(COMMAND_RESULT_PATH, result.model_dump_json())

    async def deregister(self, reason: DeregisterReason = DeregisterReason.UNINSTALLED) -> httpx.Response:
        return await self.post(DEREGISTER_PATH, DeregisterRequest(reason=reason).model_dump_json())

    async def open_socket(self, **kwargs: bool) -> SimSocket:
        """Open the push WebSocket (hello done; raises when the hub refuses)."""
        assert self.credential
        sock = SimSocket(ws_url(self.base_url), self.credential, **kwargs)
        await sock.open()
        return sock


def ok_result(spec_id: str, stdout: str = "ok\n", *, status: CommandStatus = CommandStatus.SUCCEEDED) -> CommandResult:
    return CommandResult(
        command_id=spec_id, status=status, exit_code=0, stdout=stdout, started_at=now(), finished_at=now()
    )  # type: ignore[arg-type]


def ws_url(base_url: str) -> str:
    return base_url.replace("https://", "wss://").replace("http://", "ws://") + WEBSOCKET_PATH


class SimSocket:
    """The push channel of a simulated agent; records commands with their monotonic arrival time."""

    def __init__(self, url: str, credential: str, *, auto_ack: bool = True, auto_pong: bool = True) -> None:
        self.url = url
        self.credential = credential
        self.auto_ack = auto_ack
        self.auto_pong = auto_pong
        self.commands: asyncio.Queue[tuple[CommandSpec, float]] = asyncio.Queue()
        self.result_acks: asyncio.Queue[str] = asyncio.Queue()
        self.errors: list[ErrorMessage] = []
        self.pings = 0
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self.hello: HelloAckMessage | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self, protocol_version: int = PROTOCOL_VERSION) -> None:
        self._ws = await connect(
            self.url,
            additional_headers={PROTOCOL_HEADER: str(protocol_version)},
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            open_timeout=10,
        )
        hello = HelloMessage(
            device_credential=self.credential, protocol_version=protocol_version, agent_version=AGENT_VERSION
        )
        with contextlib.suppress(ConnectionClosed):  # refused before hello: the error is still readable
            await self._ws.send(hello.model_dump_json())
        try:
            async with asyncio.timeout(10):
                first = parse_server_message(await self._ws.recv())
        except ConnectionClosed as exc:
            self.close_code = self._ws.close_code
            raise ConnectionRefusedError(f"closed before hello_ack (close {self.close_code})") from exc
        if isinstance(first, ErrorMessage):
            self.errors.append(first)
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                async with asyncio.timeout(5):
                    await self._ws.recv()
            self.close_code = self._ws.close_code
            raise ConnectionRefusedError(f"{first.error.code}: {first.error.message} (close {self.close_code})")
        assert isinstance(first, HelloAckMessage), first
        self.hello = first
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                message = parse_server_message(raw)
                if isinstance(message, CommandMessage):
                    await self.commands.put((message.command, time.monotonic()))
                    if self.auto_ack:
                        await self.send(CommandAckMessage(command_id=message.command.id).model_dump_json())
                elif isinstance(message, PingMessage):
                    self.pings += 1
                    if self.auto_pong:
                        await self.send(PongMessage(nonce=message.nonce).model_dump_json())
                elif isinstance(message, ResultAckMessage):
                    await self.result_acks.put(message.command_id)
                elif isinstance(message, ErrorMessage):
                    self.errors.append(message)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self._ws.close_code
            self.closed.set()

    async def send(self, text: str) -> None:
        assert self._ws is not None
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(text)

    async def next_command(self, wait: float = 5.0) -> CommandSpec:
        async with asyncio.timeout(wait):
            spec, _ = await self.commands.get()
        return spec

    async def send_running(self, command_id: str) -> None:
        update = CommandStatusUpdate(command_id=command_id, started_at=now())
        await self.send(CommandStatusMessage(update=update).model_dump_json())

    async def send_result(self, result: CommandResult) -> None:
        await self.send(CommandResultMessage(result=result).model_dump_json())

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
