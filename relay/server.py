"""The relay node: checks tickets, pairs an agent with its viewers, reports events to the hub.

Browsers and agents dial ``<relay>/relay/v1?ticket=<ticket>``; after a network drop they come
back with ``?session=<id>&resume=<token>`` (the token arrived in the ``hello`` message), which
rejoins the same session without a new ticket or consent prompt. The node holds no database.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from hub.core.tickets import SessionEvent, SessionEventKind, Ticket, TicketError, TicketRole, verify
from relay.config import RelayConfig
from relay.lane import Lane
from relay.session import Session

log = logging.getLogger(__name__)

PATH = "/relay/v1"
CLOSE_BAD_TICKET = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_TAKEN = 4409
CLOSE_FULL = 4429

EventSink = Callable[[list[SessionEvent]], Awaitable[None]]


class RelayServer:
    """A relay node; ``start`` listens, ``stop`` ends every session and waits for the sockets."""

    def __init__(self, config: RelayConfig, sink: EventSink | None = None) -> None:
        self.config = config
        self.sessions: dict[str, Session] = {}
        self._sink = sink
        self._used: dict[str, float] = {}
        self._events: asyncio.Queue[SessionEvent] = asyncio.Queue()
        self._server: Server | None = None
        self._reporter: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port) and return the port."""
        self._server = await serve(
            self.handle,
            host,
            port,
            compression=None,  # permessage-deflate costs 24x in throughput and 3x in memory
            max_size=self.config.max_message,
            ping_interval=20,
        )
        self._reporter = asyncio.create_task(self._report_loop(), name="relay-events")
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """End every session and close the listener."""
        for session in list(self.sessions.values()):
            await session.end("the relay is shutting down")
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._reporter is not None:
            self._reporter.cancel()
            await asyncio.gather(self._reporter, return_exceptions=True)
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

    # -- connections --------------------------------------------------------------------------

    async def handle(self, ws: ServerConnection) -> None:
        """Serve one socket until it closes."""
        url = urlsplit(ws.request.path if ws.request else "")
        if url.path != PATH:
            await ws.close(CLOSE_NOT_FOUND, f"unknown path; dial {PATH}")
            return
        query = parse_qs(url.query)
        if "resume" in query and "session" in query:
            await self._resume(ws, query["session"][0], query["resume"][0])
            return
        try:
            ticket = self._claim(query.get("ticket", [""])[0])
        except TicketError as exc:
            await ws.close(CLOSE_BAD_TICKET, str(exc))
            return
        session = self.sessions.get(ticket.session)
        if session is None:
            session = self._open(ticket)
        if session.kind is not ticket.kind:
            await ws.close(CLOSE_BAD_TICKET, "ticket is for another kind of session")
            return
        if ticket.role is TicketRole.AGENT:
            await self._serve_agent(session, ws)
        else:
            await self._serve_viewer(session, ws, ticket)

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
        self.sessions.pop(sid, None)

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

    async def _serve_viewer(self, session: Session, ws: ServerConnection, ticket: Ticket) -> None:
        slot = next((i for i, lane in enumerate(session.lanes) if lane is None), None)
        if slot is None:
            session.event(SessionEventKind.VIEWER_REFUSED, user=ticket.user, role=ticket.role)
            await ws.close(CLOSE_FULL, f"session already has {self.config.max_viewers} viewers, the most allowed")
            return
        lane = Lane(slot, ticket.role, ticket.user, ws, high_water=self.config.high_water, max_lag=self.config.max_lag)
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
