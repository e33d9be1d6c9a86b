"""One remote session inside the relay: the agent leg, up to four viewer lanes, the idle clock.

Agent-leg binary frames carry a one-byte channel header: ``0..3`` for one viewer's slot (the
screen, where every viewer has its own VNC connection on the endpoint) or ``0xFF`` for every
viewer (the shell's PTY output). Text frames are JSON control messages in both directions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine, Mapping

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from hub.core.tickets import SessionEvent, SessionEventKind, SessionKind, TicketError, TicketRole, verify_grant
from relay.config import RelayConfig
from relay.lane import CLOSE_TOO_SLOW, Lane
from relay.recording import Recording
from relay.rfb import RfbProtocolError

log = logging.getLogger(__name__)

BROADCAST = 0xFF
CLOSE_ENDED = 4410
CLOSE_IDLE = 4408
CONSENT_TRAIL = 4  # consent messages kept per session (waiting, then accepted)

Reporter = Callable[[SessionEvent], None]


class Session:
    """State of one session; the server routes sockets to it."""

    def __init__(
        self, sid: str, kind: SessionKind, config: RelayConfig, report: Reporter, *, on_end: Callable[[str], None]
    ) -> None:
        self.sid = sid
        self._on_end = on_end
        self.kind = kind
        self.config = config
        self._report = report
        self.agent: ServerConnection | None = None
        self.agent_resume = ""
        self.lanes: list[Lane | None] = [None] * config.max_viewers
        self.last_input = time.monotonic()
        self.ended = False
        self.end_reason = ""
        self._timers: set[asyncio.Task[None]] = set()
        self._handles: set[asyncio.TimerHandle] = set()
        self._idle: asyncio.TimerHandle | None = None
        self._idle_from = 0.0  # the ``last_input`` the idle marks count from
        self._idle_next = 0  # index of the next mark (warnings, then the timeout)
        self.recording: Recording | None = None
        self._grants_used: set[str] = set()
        self.consent_trail: list[str] = []  # the agent's consent messages, replayed to a viewer that joins later
        if kind is SessionKind.SHELL and config.recordings_dir is not None:
            try:
                self.recording = Recording(config.recordings_dir, sid, title=f"remote shell {sid}")
            except OSError as exc:
                log.error("relay session %s: cannot record to %s: %s", sid, config.recordings_dir, exc.strerror)

    # -- events and fan-out -------------------------------------------------------------------

    def event(
        self,
        kind: SessionEventKind,
        *,
        user: str = "",
        role: TicketRole | None = None,
        detail: str = "",
        data: Mapping[str, str | int | bool] | None = None,
    ) -> None:
        """Report an event to the hub (through the server's reporter queue)."""
        self._report(
            SessionEvent(
                session=self.sid,
                kind=kind,
                at=time.time(),
                user=user,
                role=role,
                viewers=self.viewer_count,
                detail=detail,
                data=dict(data or {}),
            )
        )

    @property
    def viewer_count(self) -> int:
        """Viewer slots taken (connected or inside their reconnect grace)."""
        return sum(1 for lane in self.lanes if lane is not None)

    def attached(self) -> list[Lane]:
        """Lanes with a live socket."""
        return [lane for lane in self.lanes if lane is not None and lane.ws is not None]

    def control(self, payload: Mapping[str, object]) -> str:
        """Encode a control message."""
        return json.dumps(payload, separators=(",", ":"))

    def tell_viewers(self, payload: Mapping[str, object]) -> None:
        """Queue a control message for every connected viewer."""
        message = self.control(payload)
        for lane in self.attached():
            self._push(lane, message)

    async def tell_agent(self, payload: Mapping[str, object]) -> None:
        """Send a control message to the agent, if it is connected."""
        if self.agent is not None:
            try:
                await self.agent.send(self.control(payload))
            except ConnectionClosed:
                return

    def roster(self) -> list[dict[str, object]]:
        """Who is connected, for the viewers' toolbar."""
        return [
            {"slot": lane.slot, "user": lane.user, "role": lane.role.value, "view_only": lane.view_only}
            for lane in self.attached()
        ]

    def _push(self, lane: Lane, message: bytes | memoryview | str) -> None:
        if not lane.push(message) and lane.ws is not None:
            ws = lane.ws
            self.spawn(ws.close(CLOSE_TOO_SLOW, "viewer too slow: reconnect to catch up"))

    def spawn(self, coro: Coroutine[object, object, None]) -> None:
        """Run a helper coroutine owned by the session (cancelled when it ends)."""
        task = asyncio.ensure_future(coro)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    # -- the agent leg ------------------------------------------------------------------------

    async def from_agent(self, message: bytes | str) -> None:
        """Route one agent message to the viewers, waiting while every viewer is saturated."""
        if isinstance(message, str):
            self._agent_control(message)
            return
        if not message:
            return
        # A view, not a copy: 64 KiB screen frames are forwarded without slicing a new bytes object.
        channel, data = message[0], memoryview(message)[1:]
        if channel == BROADCAST:
            if self.recording is not None:
                self.recording.output(data)
            lanes = self.attached()
            for lane in lanes:
                self._push(lane, data)
            if lanes and not any(lane.below_high_water for lane in lanes):
                # Back-pressure: the agent goes as fast as the fastest viewer; slower ones are
                # dropped once they fall max_lag behind, so none of them holds the others back.
                waits = [asyncio.ensure_future(lane.drained.wait()) for lane in lanes]
                _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
        elif channel < len(self.lanes):
            target = self.lanes[channel]
            if target is not None and target.ws is not None:
                self._push(target, data)
                if not target.below_high_water:
                    await target.drained.wait()  # a download goes at its viewer's pace

    def _agent_control(self, text: str) -> None:
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            log.warning("relay session %s: agent sent a non-JSON control frame", self.sid)
            return
        if not isinstance(payload, dict):
            return
        kind = payload.get("type")
        if kind == "event":
            try:
                event_kind = SessionEventKind(str(payload.get("kind")))
            except ValueError:
                return
            raw = payload.get("data")
            data = {
                str(k)[:40]: v if isinstance(v, (int, bool)) else str(v)[:500]
                for k, v in (raw.items() if isinstance(raw, dict) else ())
                if isinstance(v, (str, int, bool))
            }
            user = str(payload.get("user", ""))[:150]
            self.event(
                event_kind, user=user, detail=str(payload.get("detail", ""))[:500], data=dict(list(data.items())[:10])
            )
        if kind == "exit":
            self.spawn(self.end(f"the remote shell exited ({payload.get('code')})"))
            return
        if kind == "declined":
            self.spawn(self.end("the end user declined the connection request"))
            return
        if kind == "consent" and len(self.consent_trail) < CONSENT_TRAIL:
            self.consent_trail.append(self.control(payload))
        self.tell_viewers(payload)

    # -- the viewer legs ----------------------------------------------------------------------

    async def from_viewer(self, lane: Lane, message: bytes | str) -> None:
        """Apply a viewer's rights to its message and forward what may reach the endpoint."""
        if isinstance(message, str):
            await self._viewer_control(lane, message)
            return
        data = message
        if self.kind is SessionKind.SCREEN:
            try:
                filtered = lane.rfb_filter.feed(data)
            except RfbProtocolError as exc:
                assert lane.ws is not None
                await lane.ws.close(4400, str(exc))
                return
            if lane.view_only:
                data = filtered
            elif lane.rfb_filter.saw_input:
                self.touch()
        elif lane.view_only:
            return
        else:
            self.touch()
            if self.recording is not None:
                self.recording.input(data)
        if data and self.agent is not None:
            try:
                await self.agent.send(lane.prefix + data)
            except ConnectionClosed:
                return

    async def _viewer_control(self, lane: Lane, text: str) -> None:
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            return
        if not isinstance(payload, dict):
            return
        kind = payload.get("type")
        if kind == "ping":
            self._push(lane, self.control({"type": "pong", "t": payload.get("t")}))
        elif kind == "resize" and not lane.view_only:
            cols, rows = payload.get("cols"), payload.get("rows")
            if isinstance(cols, int) and isinstance(rows, int) and 1 <= cols <= 1000 and 1 <= rows <= 1000:
                self.touch()
                if self.recording is not None:
                    self.recording.resize(cols, rows)
                await self.tell_agent({"type": "resize", "slot": lane.slot, "cols": cols, "rows": rows})
        elif kind == "view-only" and lane.role is TicketRole.CONTROLLER:
            lane.view_only = bool(payload.get("value"))
            self.event(SessionEventKind.VIEW_ONLY_TOGGLED, user=lane.user, role=lane.role, detail=str(lane.view_only))
            self.tell_viewers({"type": "viewers", "viewers": self.roster()})
        elif kind == "end" and lane.role is TicketRole.CONTROLLER:
            await self.end(f"ended by {lane.user or 'the technician'}")
        elif kind in ("list", "upload-done", "cancel") and not lane.view_only:
            self.touch()
            await self.tell_agent({**payload, "slot": lane.slot, "user": lane.user})
        elif kind in ("download", "upload") and not lane.view_only:
            refusal = self._check_grant(payload, str(kind))
            if refusal:
                self._push(lane, self.control({"type": "file-error", "id": payload.get("id"), "message": refusal}))
                return
            self.touch()
            await self.tell_agent({**payload, "slot": lane.slot, "user": lane.user})

    def _check_grant(self, payload: Mapping[str, object], direction: str) -> str:
        """Why a transfer request may not reach the agent ("" when its gate-issued grant covers it)."""
        try:
            grant = verify_grant(self.config.secret, str(payload.get("grant", "")))
        except TicketError as exc:
            return f"{exc}; every transfer needs rmm-transfer-file"
        if grant.session != self.sid or grant.direction.value != direction or grant.path != payload.get("path"):
            return "the transfer grant is for another session, direction or path"
        if grant.nonce in self._grants_used:
            return "the transfer grant was already used"
        self._grants_used.add(grant.nonce)
        return ""

    # -- idle clock ---------------------------------------------------------------------------

    def touch(self) -> None:
        """Record operator input (restarts the idle clock; the timer notices when it next fires)."""
        self.last_input = time.monotonic()

    def start_watchdog(self) -> None:
        """Start the idle clock once both ends are there.

        One timer handle per session, not a sleeping task: it fires at the next mark counted from
        the newest input, so a keystroke costs a clock read and an idle session almost nothing.
        """
        if self._idle is None and not self.ended:
            self.touch()
            self._idle_from, self._idle_next = self.last_input, 0
            self._arm_idle()

    @property
    def _idle_marks(self) -> list[float]:
        return [*sorted(m for m in self.config.idle_warnings if m < self.config.idle_timeout), self.config.idle_timeout]

    def _arm_idle(self) -> None:
        delay = self._idle_from + self._idle_marks[self._idle_next] - time.monotonic()
        self._idle = asyncio.get_running_loop().call_later(max(delay, 0.0), self._idle_tick)

    def _idle_tick(self) -> None:
        if self.ended:
            return
        if self.last_input != self._idle_from:  # input since the clock started: count again from it
            self._idle_from, self._idle_next = self.last_input, 0
            self._arm_idle()
            return
        marks = self._idle_marks
        mark = marks[self._idle_next]
        if self._idle_next == len(marks) - 1:
            self._idle = None
            self.spawn(self.end(f"idle timeout: no input for {self.config.idle_timeout / 60:g} minutes"))
            return
        remaining = round(self.config.idle_timeout - mark, 3)
        self.tell_viewers({"type": "idle-warning", "idle_seconds": mark, "remaining_seconds": remaining})
        self.event(SessionEventKind.IDLE_WARNING, detail=f"{remaining:g} s left")
        self._idle_next += 1
        self._arm_idle()

    # -- ending -------------------------------------------------------------------------------

    def after(self, seconds: float, check: Callable[[], bool], reason: str) -> None:
        """End the session after ``seconds`` unless ``check()`` says it recovered.

        A timer handle, not a sleeping task: an idle session costs the relay as little memory as possible.
        """

        def fire() -> None:
            self._handles.discard(handle)
            if not self.ended and not check():
                self.spawn(self.end(reason))

        handle = asyncio.get_running_loop().call_later(seconds, fire)
        self._handles.add(handle)

    async def end(self, reason: str, code: int = CLOSE_ENDED) -> None:
        """Close every leg and report why."""
        if self.ended:
            return
        self.ended = True
        self.end_reason = reason
        if reason.startswith("idle timeout"):
            code = CLOSE_IDLE
        self._on_end(self.sid)
        data: dict[str, str | int | bool] = {}
        if self.recording is not None:
            self.recording.close()
            data["recording"] = self.recording.name
        self.event(SessionEventKind.ENDED, detail=reason, data=data)
        closing = [ws.close(code, reason[:120]) for ws in [self.agent, *(lane.ws for lane in self.attached())] if ws]
        await asyncio.gather(*closing, return_exceptions=True)
        for lane in self.lanes:
            if lane is not None:
                await lane.detach()
        for handle in [*self._handles, *([self._idle] if self._idle else [])]:
            handle.cancel()
        self._handles.clear()
        self._idle = None
        current = asyncio.current_task()
        for task in self._timers:
            if task is not current:
                task.cancel()
