"""Reads of remote sessions for pages: the active and recent list, one session with its trail."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import CommandKind
from hub.core.errors import NotFound
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from native_rmm.models.remote import RemoteSession, RemoteSessionEvent, RemoteSessionStatus


@dataclass(frozen=True)
class SessionRow:
    """A session with the device it ran on."""

    session: RemoteSession
    device_id: int
    device_label: str
    device_status: str


async def list_sessions(session: AsyncSession, *, org_id: int, limit: int = 100) -> list[SessionRow]:
    """Active and pending sessions first, then the most recent ended ones."""
    live_first = case((RemoteSession.status == RemoteSessionStatus.ENDED, 1), else_=0)
    stmt = (
        select(RemoteSession, Device.id, Device.display_name, Device.hostname, Device.status)
        .join(Device, Device.id == RemoteSession.device_id)
        .where(RemoteSession.org_id == org_id)
        .order_by(live_first, RemoteSession.opened_at.desc(), RemoteSession.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    return [SessionRow(row[0], row[1], row[2] or row[3], row[4].value) for row in rows]


async def get_session(session: AsyncSession, *, org_id: int, session_id: int) -> SessionRow:
    """One session of ``org_id`` (``NotFound`` otherwise)."""
    row = (
        await session.execute(
            select(RemoteSession, Device.id, Device.display_name, Device.hostname, Device.status)
            .join(Device, Device.id == RemoteSession.device_id)
            .where(RemoteSession.org_id == org_id, RemoteSession.id == session_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no remote session #{session_id}")
    return SessionRow(row[0], row[1], row[2] or row[3], row[4].value)


async def get_by_sid(session: AsyncSession, *, org_id: int, sid: str) -> RemoteSession:
    """A session of ``org_id`` by its relay id."""
    row = await session.scalar(select(RemoteSession).where(RemoteSession.org_id == org_id, RemoteSession.sid == sid))
    if row is None:
        raise NotFound(f"no remote session {sid}")
    return row


async def trail(session: AsyncSession, *, session_id: int) -> list[RemoteSessionEvent]:
    """The session's events in order."""
    stmt = select(RemoteSessionEvent).where(RemoteSessionEvent.session_id == session_id)
    return list((await session.scalars(stmt.order_by(RemoteSessionEvent.at, RemoteSessionEvent.id))).all())


async def window_commands(session: AsyncSession, *, org_id: int, device_id: int, limit: int) -> list[Command]:
    """The device's recent commands for the window's Commands tab, newest first, without the remote-session
    commands (their body is the agent's relay ticket, which no page shows)."""
    stmt = (
        select(Command)
        .where(Command.org_id == org_id, Command.device_id == device_id, Command.kind != CommandKind.REMOTE_SESSION)
        .order_by(Command.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())
