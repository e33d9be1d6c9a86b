"""The relay node: checks tickets, pairs an agent with its viewers, reports events to the hub.

Browsers and agents dial ``<relay>/relay/v1?ticket=<ticket>``; after a network drop they come
back with ``?session=<id>&resume=<token>`` (the token arrived in the ``hello`` message), which
rejoins the same session without a new ticket or consent prompt. The node holds no database.

Memory per idle connection is what limits a node (5,000 sockets must fit in 100 MB), so nothing
per connection sleeps in a task of its own: one node-wide keepalive loop pings every socket
instead of websockets' task per connection, the handshake's headers are dropped once the ticket is
read, and the long-lived handler frames keep neither the ticket nor the parsed query.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from hub.core.tickets import SessionEvent, SessionEventKind, Ticket, TicketError, TicketRole, verify
from relay.config import RelayConfig
from relay.lane import Lane
from relay.session import CLOSE_ENDED, Session

log = logging.getLogger(__name__)

PATH = "/relay/v1"
CLOSE_BAD_TICKET = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_TAKEN = 4409
CLOSE_FULL = 4429
ENDED_MEMORY = 10 * 60  # how long a node remembers why a session ended (longer than any ticket lives)

EventSink = Callable[[list[SessionEvent]], Awaitable[None]]


class RelayServer:
    """A relay node; ``start`` listens, ``stop`` ends every session and waits for the sockets."""

    def __init__(self, config: RelayConfig, sink: EventSink | None = None) -> None:
        self.config = config
        self.sessions: dict[str, Session] = {}
        self._sink = sink
        self._used: dict[str, float] = {}
        self._ended: dict[str, tuple[str, float]] = {}  # session id -> (why it ended, forget at)
        self._events: asyncio.Queue[SessionEvent] = asyncio.Queue()
        self._server: Server | None = None
        self._reporter: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port) and return the port."""
        self._server = await serve(
            self.handle,
            host,
            port,
            compression=None,  # permessage-deflate costs 24x in throughput and 3x in memory
            max_size=self.config.max_message,
            ping_interval=None,  # one node-wide loop (``_keepalive_loop``), not a task per socket
            max_queue=4,  # frames buffered per socket before TCP back-pressure; every hop is paced anyway
        )
        self._reporter = asyncio.create_task(self._report_loop(), name="relay-events")
        self._keepalive = asyncio.create_task(self._keepalive_loop(), name="relay-keepalive")
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """End every session and close the listener."""
        for session in list(self.sessions.values()):
            await session.end("the relay is shutting down")
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in (self._reporter, self._keepalive, *self._closing):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self._flush()

    async def end_session(self, sid: str, reason: str) -> bool:
        """End a session on the hub's behalf (an admin pressed End); False when it is not here."""
        session = self.sessions.get(sid)
        if session is None:
            return False
        await session.end(reason)
        return True

    # -- events -------------------------------------------------------------------------------

    def _report(self, event: SessionEvent) -> None:
        self._events.put_nowait(event)

    async def _report_loop(self) -> None:
        while True:
            batch = [await self._events.get()]
            while not self._events.empty():
                batch.append(self._events.get_nowait())
            await self._deliver(batch)

    async def _flush(self) -> None:
        batch = []
        while not self._events.empty():
            batch.append(self._events.get_nowait())
        if batch:
            await self._deliver(batch)

    async def _deliver(self, batch: list[SessionEvent]) -> None:
        if self._sink is None:
            return
        try:
            await self._sink(batch)
        except OSError as exc:  # the hub is unreachable: the relay keeps relaying
            log.warning("relay: could not report %d session events: %s", len(batch), exc)

    # -- keepalive ----------------------------------------------------------------------------

    async def _keepalive_loop(self) -> None:
        """Ping every socket each ``ping_interval``; one without a pong by the next round is closed."""
        waiting: dict[ServerConnection, asyncio.Future[float]] = {}
        interval = self.config.ping_interval
        while True:
            await asyncio.sleep(min(interval, self.config.ping_timeout))
            for ws, pong in waiting.items():
                if not pong.done() and ws.state is State.OPEN:
                    self._close_later(ws, 1011, "keepalive ping timeout")
            waiting = {}
            if self._server is None:
                continue
            for ws in list(self._server.connections):
                try:
                    async with asyncio.timeout(1):
                        waiting[ws] = asyncio.ensure_future(await ws.ping())
                except (ConnectionClosed, TimeoutError):
                    continue
            for pong in waiting.values():
                pong.add_done_callback(_consume)

    def _close_later(self, ws: ServerConnection, code: int, reason: str) -> None:
        task = asyncio.create_task(ws.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # -- connections --------------------------------------------------------------------------

    async def handle(self, ws: ServerConnection) -> None:
        """Serve one socket until it closes."""
        route = self._route(ws)
        _shed_handshake(ws)
        await route

    def _route(self, ws: ServerConnection) -> Coroutine[object, object, None]:
        """What to run for this socket (a plain function: the URL, query and ticket die with its frame)."""
        url = urlsplit(ws.request.path if ws.request else "")
        if url.path != PATH:
            return ws.close(CLOSE_NOT_FOUND, f"unknown path; dial {PATH}")
        query = parse_qs(url.query)
        if "resume" in query and "session" in query:
            return self._resume(ws, query["session"][0], query["resume"][0])
        try:
            ticket = self._claim(query.get("ticket", [""])[0])
        except TicketError as exc:
            return ws.close(CLOSE_BAD_TICKET, str(exc))
        session = self.sessions.get(ticket.session)
        if session is None and (ended := self._ended.get(ticket.session)) is not None:
            # A leg that arrives after the end (the end user declined before the technician's
            # window connected) learns why, rather than opening the session afresh.
            return ws.close(CLOSE_ENDED, ended[0][:120])
        if session is None:
            session = self._open(ticket)
        if session.kind is not ticket.kind:
            return ws.close(CLOSE_BAD_TICKET, "ticket is for another kind of session")
        if ticket.role is TicketRole.AGENT:
            return self._serve_agent(session, ws)
        return self._serve_viewer(session, ws, ticket.role, ticket.user)

    def _open(self, ticket: Ticket) -> Session:
        session = Session(ticket.session, ticket.kind, self.config, self._report, on_end=self._forget)
        self.sessions[ticket.session] = session
        session.event(SessionEventKind.OPENED, user=ticket.user, role=ticket.role, detail=ticket.kind.value)
        other = "the device" if ticket.role is not TicketRole.AGENT else "no technician"
        session.after(
            self.config.pair_timeout,
            lambda: session.agent is not None and session.viewer_count > 0,
            f"{other} did not connect within {int(self.config.pair_timeout)} s",
        )
        return session

    def _forget(self, sid: str) -> None:
        session = self.sessions.pop(sid, None)
        now = time.time()
        for old in [s for s, (_, forget_at) in self._ended.items() if forget_at < now]:
            del self._ended[old]
        if session is not None:
            self._ended[sid] = (session.end_reason, now + ENDED_MEMORY)

    def _claim(self, token: str) -> Ticket:
        if not token:
            raise TicketError("no ticket: open the session from the hub")
        ticket = verify(self.config.secret, token)
        if self.config.public_url and ticket.relay.rstrip("/") != self.config.public_url.rstrip("/"):
            raise TicketError("ticket is for another relay node")
        now = time.time()
        for nonce in [n for n, exp in self._used.items() if exp < now]:
            del self._used[nonce]
        if ticket.nonce in self._used:
            raise TicketError("ticket already used: ask the hub for a new one")
        self._used[ticket.nonce] = ticket.expires
        return ticket

    async def _resume(self, ws: ServerConnection, sid: str, token: str) -> None:
        session = self.sessions.get(sid)
        if session is None or session.ended:
            await ws.close(CLOSE_NOT_FOUND, "session has ended")
            return
        if token == session.agent_resume and session.agent is None:
            session.event(SessionEventKind.AGENT_RESUMED)
            await self._serve_agent(session, ws, resumed=True)
            return
        for lane in session.lanes:
            if lane is not None and lane.resume == token and lane.ws is None:
                await self._serve_lane(session, lane, ws, resumed=True)
                return
        await ws.close(CLOSE_BAD_TICKET, "resume token not valid for this session")

    async def _serve_agent(self, session: Session, ws: ServerConnection, *, resumed: bool = False) -> None:
        if session.agent is not None:
            await ws.close(CLOSE_TAKEN, "the device is already connected to this session")
            return
        session.agent = ws
        if not resumed:
            session.agent_resume = secrets.token_urlsafe(24)
        await ws.send(session.control({"type": "hello", "session": session.sid, "resume": session.agent_resume}))
        for lane in session.attached():
            await session.tell_agent(
                {"type": "open", "slot": lane.slot, "view_only": lane.view_only, "user": lane.user}
            )
        session.tell_viewers({"type": "agent", "connected": True})
        if session.attached():
            session.start_watchdog()
        try:
            async for message in ws:
                await session.from_agent(message)
        except ConnectionClosed:
            pass
        finally:
            if session.agent is ws:
                session.agent = None
            if not session.ended:
                session.event(SessionEventKind.AGENT_LOST)
                session.tell_viewers({"type": "agent", "connected": False})
                session.after(self.config.reconnect_grace, lambda: session.agent is not None, "the device disconnected")

    async def _serve_viewer(self, session: Session, ws: ServerConnection, role: TicketRole, user: str) -> None:
        slot = next((i for i, lane in enumerate(session.lanes) if lane is None), None)
        if slot is None:
            session.event(SessionEventKind.VIEWER_REFUSED, user=user, role=role)
            await ws.close(CLOSE_FULL, f"session already has {self.config.max_viewers} viewers, the most allowed")
            return
        lane = Lane(slot, role, user, ws, high_water=self.config.high_water, max_lag=self.config.max_lag)
        session.lanes[slot] = lane
        await self._serve_lane(session, lane, ws)

    async def _serve_lane(self, session: Session, lane: Lane, ws: ServerConnection, *, resumed: bool = False) -> None:
        lane.attach(ws)
        kind = SessionEventKind.VIEWER_JOINED
        session.event(kind, user=lane.user, role=lane.role, detail="reconnected" if resumed else "")
        hello = {
            "type": "hello",
            "session": session.sid,
            "kind": session.kind.value,
            "slot": lane.slot,
            "role": lane.role.value,
            "view_only": lane.view_only,
            "resume": lane.resume,
            "agent": session.agent is not None,
            "max_viewers": self.config.max_viewers,
        }
        lane.push(session.control(hello))
        for consent in session.consent_trail:
            lane.push(consent)
        session.tell_viewers({"type": "viewers", "viewers": session.roster()})
        await session.tell_agent({"type": "open", "slot": lane.slot, "view_only": lane.view_only, "user": lane.user})
        if session.agent is not None:
            session.start_watchdog()
        try:
            async for message in ws:
                await session.from_viewer(lane, message)
        except ConnectionClosed:
            pass
        finally:
            await lane.detach()
            if not session.ended:
                session.event(SessionEventKind.VIEWER_LEFT, user=lane.user, role=lane.role)
                session.tell_viewers({"type": "viewers", "viewers": session.roster()})
                await session.tell_agent({"type": "close", "slot": lane.slot})
                session.after(self.config.reconnect_grace, lambda: self._rejoined(session, lane), "every viewer left")

    @staticmethod
    def _rejoined(session: Session, lane: Lane) -> bool:
        """After a viewer's grace: free its slot unless it came back; True while anyone is left."""
        if lane.ws is None and session.lanes[lane.slot] is lane:
            session.lanes[lane.slot] = None
        return session.viewer_count > 0


def _consume(pong: asyncio.Future[float]) -> None:
    """Retrieve a ping waiter's outcome (a socket that closed first fails it; that is not an error)."""
    if not pong.cancelled():
        pong.exception()


def _shed_handshake(ws: ServerConnection) -> None:
    """Free the opening handshake's headers (about 2 KB a socket); only the path was ever needed."""
    if ws.request is not None:
        ws.request.headers.clear()
    ws.response = None
