"""Dial the relay with a ticket and bridge one session until it ends.

The relay multiplexes viewers over this one socket: binary frames start with a channel byte
(the viewer's slot, or 0xFF for "every viewer"), text frames are JSON control messages. After a
network drop the bridge dials again with the resume token from ``hello`` so the session, the
shell and its consent survive; close codes 4400-4499 from the relay are final.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from agent.remote import consent as privacy
from agent.remote.files import FileChannel
from agent.remote.pty_shell import PtyShell
from agent.remote.settings import DEFAULT_FILE_LIMIT, DEFAULT_VNC_PORT, RemoteSettings, RemoteSettingsError

log = logging.getLogger(__name__)

BROADCAST = 0xFF
VNC_HOST = "127.0.0.1"
FINAL_CLOSE_CODES = range(4400, 4500)
FILE_REQUESTS = frozenset({"list", "download", "upload", "upload-done", "cancel"})


class BridgeError(RuntimeError):
    """The session could not be bridged (message is for the technician)."""


@dataclass
class Bridge:
    """One remote session on the endpoint."""

    relay_url: str
    ticket: str
    kind: str
    vnc_port: int = DEFAULT_VNC_PORT
    reconnect_for: float = 60.0
    shell_argv: list[str] | None = None
    end_reason: str = ""
    _ws: ClientConnection | None = None
    _resume: str = ""
    _session: str = ""
    _shell: PtyShell | None = None
    _files: FileChannel | None = None
    file_limit: int = DEFAULT_FILE_LIMIT
    consent: bool = False
    technician: str = ""
    remote_settings: RemoteSettings = field(default_factory=RemoteSettings)
    _allowed: asyncio.Event = field(default_factory=asyncio.Event)
    _asking: bool = False
    _pending_opens: set[int] = field(default_factory=set)
    _notice: privacy.InProgressNotice = field(default_factory=privacy.InProgressNotice)
    _vnc: dict[int, asyncio.StreamWriter] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _done: asyncio.Event = field(default_factory=asyncio.Event)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        if not self.consent:
            self._allowed.set()

    async def run(self) -> str:
        """Bridge until the session ends; return why it ended."""
        url = f"{self.relay_url.rstrip('/')}/relay/v1?ticket={self.ticket}"
        loop = asyncio.get_running_loop()
        give_up_at: float | None = None
        try:
            while not self._done.is_set():
                try:
                    async with connect(url, compression=None, max_size=4 << 20, open_timeout=10) as ws:
                        self._ws = ws
                        give_up_at = None
                        await self._serve(ws)
                except ConnectionClosed as exc:
                    if exc.rcvd is not None and (exc.rcvd.code in FINAL_CLOSE_CODES or exc.rcvd.code == 1000):
                        self.end_reason = self.end_reason or exc.rcvd.reason or "session ended"
                        break
                except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
                    if not self._resume:
                        raise BridgeError(f"cannot reach the relay at {self.relay_url}: {exc}") from exc
                else:
                    self.end_reason = self.end_reason or ws.close_reason or "session ended"
                    break
                if self._done.is_set() or not self._resume:
                    break
                give_up_at = give_up_at or loop.time() + self.reconnect_for
                if loop.time() > give_up_at:
                    self.end_reason = "lost the relay"
                    break
                await asyncio.sleep(1.0)  # back off before dialing the relay again
                url = f"{self.relay_url.rstrip('/')}/relay/v1?session={self._session}&resume={self._resume}"
        finally:
            self._ws = None
            await self._teardown()
        return self.end_reason

    async def _serve(self, ws: ClientConnection) -> None:
        async for message in ws:
            if isinstance(message, str):
                await self._control(json.loads(message))
            elif message:
                await self._data(message[0], message[1:])

    async def _send(self, data: bytes) -> None:
        ws = self._ws
        if ws is None:
            return
        try:
            await ws.send(data)
        except ConnectionClosed:
            return

    async def event(
        self, kind: str, detail: str = "", *, user: str = "", data: Mapping[str, object] | None = None
    ) -> None:
        """Report a session event through the relay."""
        await self._send_control({"type": "event", "kind": kind, "detail": detail, "user": user, "data": data or {}})

    async def _send_control(self, payload: Mapping[str, object]) -> None:
        if self._ws is not None:
            try:
                await self._ws.send(json.dumps(payload))
            except ConnectionClosed:
                return

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _control(self, payload: Mapping[str, object]) -> None:
        kind = payload.get("type")
        if kind == "hello":
            self._session, self._resume = str(payload["session"]), str(payload["resume"])
            self.connected.set()
            if self._allowed.is_set():
                self._begin()
            elif not self._asking:
                self._asking = True
                self._spawn(self._ask_consent())
        elif not self._allowed.is_set():
            if kind == "open" and isinstance(payload.get("slot"), int):
                self._pending_opens.add(int(str(payload["slot"])))
        elif kind == "resize" and self._shell is not None:
            cols, rows = payload.get("cols"), payload.get("rows")
            if isinstance(cols, int) and isinstance(rows, int):
                self._shell.resize(cols, rows)
        elif kind == "open" and self._files is not None and isinstance(payload.get("slot"), int):
            await self._files.ready(int(str(payload["slot"])))
        elif kind in FILE_REQUESTS and self._files is not None:
            await self._files.handle(payload)
        elif kind == "close" and self._files is not None and isinstance(payload.get("slot"), int):
            await self._files.cancel(int(str(payload["slot"])))
        elif kind == "open" and self.kind == "screen":
            slot = payload.get("slot")
            if isinstance(slot, int) and slot not in self._vnc:
                await self._open_vnc(slot)
        elif kind == "close" and self.kind == "screen":
            slot = payload.get("slot")
            writer = self._vnc.pop(slot, None) if isinstance(slot, int) else None
            if writer is not None:
                writer.close()

    def _begin(self) -> None:
        """Start what the session bridges (once: a resumed connection finds it running)."""
        if self.kind == "shell" and self._shell is None:
            self._start_shell()
        if self.kind == "files" and self._files is None:
            self._files = FileChannel(self._send_control, self._send_slot, self.event, limit=self.file_limit)

    # -- consent (privacy mode) ---------------------------------------------------------------

    async def _ask_consent(self) -> None:
        """Ask the end user once per session; a reconnect after a drop keeps the answer."""
        waiting = f"Waiting for the end user to accept the connection request from {self.technician or 'you'}…"
        await self._send_control({"type": "consent", "state": "waiting", "message": waiting})
        answer = await privacy.ask(self.remote_settings, technician=self.technician, kind=self.kind)
        if not answer.accepted:
            self.end_reason = "the end user declined the connection request"
            await self.event("consent-declined", f"declined via {answer.via}", user=self.technician)
            await self._send_control({"type": "declined", "message": self.end_reason})
            return
        await self.event("consent-given", f"accepted via {answer.via}", user=self.technician)
        self._allowed.set()
        await self._send_control(
            {"type": "consent", "state": "accepted", "message": "Connected (the end user accepted)"}
        )
        await self._notice.show(self.technician, self.kind)
        self._begin()
        for slot in sorted(self._pending_opens):
            await self._control({"type": "open", "slot": slot})
        self._pending_opens.clear()

    async def _send_slot(self, slot: int, data: bytes) -> None:
        await self._send(bytes([slot]) + data)

    async def _data(self, slot: int, data: bytes) -> None:
        if not self._allowed.is_set():
            return  # nothing reaches the endpoint before the end user accepted
        if self._files is not None:
            await self._files.data(slot, data)
        elif self._shell is not None:
            self._shell.write(data)
        elif (writer := self._vnc.get(slot)) is not None:
            writer.write(data)
            await writer.drain()

    # -- the shell ----------------------------------------------------------------------------

    def _start_shell(self) -> None:
        shell = PtyShell(self.shell_argv)
        shell.start()
        self._shell = shell
        if shell.elevated:
            self._spawn(self.event("elevation-used", "the shell runs as root"))

        async def broadcast(chunk: bytes) -> None:
            await self._send(bytes([BROADCAST]) + chunk)

        async def pump() -> None:
            code = await shell.pump(broadcast)
            self.end_reason = f"the remote shell exited ({code})"
            if self._ws is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self._ws.send(json.dumps({"type": "exit", "code": code}))
            self._done.set()

        self._spawn(pump())

    # -- the screen ---------------------------------------------------------------------------

    async def _open_vnc(self, slot: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(VNC_HOST, self.vnc_port)
        except OSError as exc:
            await self.event("ended", f"no VNC server on {VNC_HOST}:{self.vnc_port}: {exc.strerror}")
            self.end_reason = f"no VNC server listening on {VNC_HOST}:{self.vnc_port}"
            if self._ws is not None:
                await self._ws.send(json.dumps({"type": "error", "message": self.end_reason}))
            return
        self._vnc[slot] = writer

        async def pump() -> None:
            while data := await reader.read(64 << 10):
                await self._send(bytes([slot]) + data)
            if self._vnc.get(slot) is writer:
                del self._vnc[slot]

        self._spawn(pump())

    async def _teardown(self) -> None:
        await self._notice.close()
        if self._files is not None:
            await self._files.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._vnc.values():
            writer.close()
        self._vnc.clear()
        if self._shell is not None:
            self._shell.close()
            self._shell = None


def bridge_from_ticket(ticket: str, *, settings: RemoteSettings | None = None) -> Bridge:
    """Build the bridge a hub command asks for; the ticket itself names the relay and the kind.

    The agent does not hold the signing key: it reads the claims, and the relay checks the signature.
    """
    try:
        body = ticket.split(".")[0]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        relay, kind = str(claims["relay"]), str(claims["kind"])
        wants_consent, technician = bool(claims.get("consent", False)), str(claims.get("user", ""))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise BridgeError("the remote-session ticket is malformed") from exc
    if kind not in ("shell", "screen", "files"):
        raise BridgeError(f"this agent cannot bridge a {kind!r} session")
    if not relay.startswith(("ws://", "wss://")):
        raise BridgeError("the remote-session ticket names no ws:// or wss:// relay")
    if settings is None:
        try:
            settings = RemoteSettings.from_environ()
        except RemoteSettingsError as exc:
            raise BridgeError(str(exc)) from exc
    return Bridge(
        relay, ticket, kind, vnc_port=settings.vnc_port, file_limit=settings.file_limit, consent=wants_consent,
        technician=technician, remote_settings=settings,
    )  # fmt: skip
