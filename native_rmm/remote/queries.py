"""Reads of remote sessions for pages: the active and recent list, one session with its trail, privacy-mode rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import CommandKind
from hub.core.errors import NotFound
from hub.core.models import Customer, Site
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from native_rmm.models.remote import (
    ConsentScope,
    RemoteConsentRule,
    RemoteSession,
    RemoteSessionEvent,
    RemoteSessionStatus,
)


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


@dataclass(frozen=True)
class ConsentRuleRow:
    """One privacy-mode rule with the name of what it covers."""

    scope: str
    scope_id: int
    target: str
    required: bool
    set_by: str
    updated_at: datetime


async def consent_rules(session: AsyncSession, *, org_id: int) -> list[ConsentRuleRow]:
    """Every privacy-mode rule of the organisation, customers first, then sites, then devices."""
    rules = (
        await session.scalars(
            select(RemoteConsentRule)
            .where(RemoteConsentRule.org_id == org_id)
            .order_by(RemoteConsentRule.scope, RemoteConsentRule.scope_id)
        )
    ).all()
    wanted: dict[ConsentScope, list[int]] = {scope: [] for scope in ConsentScope}
    for rule in rules:
        wanted[rule.scope].append(rule.scope_id)
    names: dict[tuple[ConsentScope, int], str] = {}
    if wanted[ConsentScope.CUSTOMER]:
        stmt = select(Customer.id, Customer.name).where(Customer.id.in_(wanted[ConsentScope.CUSTOMER]))
        names.update({(ConsentScope.CUSTOMER, i): n for i, n in (await session.execute(stmt)).all()})
    if wanted[ConsentScope.SITE]:
        site_stmt = (
            select(Site.id, Customer.name, Site.name)
            .join(Customer, Customer.id == Site.customer_id)
            .where(Site.id.in_(wanted[ConsentScope.SITE]))
        )
        names.update({(ConsentScope.SITE, i): f"{c} / {s}" for i, c, s in (await session.execute(site_stmt)).all()})
    if wanted[ConsentScope.DEVICE]:
        device_stmt = select(Device.id, Device.display_name, Device.hostname).where(
            Device.id.in_(wanted[ConsentScope.DEVICE])
        )
        names.update({(ConsentScope.DEVICE, i): d or h for i, d, h in (await session.execute(device_stmt)).all()})
    order = {ConsentScope.CUSTOMER: 0, ConsentScope.SITE: 1, ConsentScope.DEVICE: 2}
    return [
        ConsentRuleRow(
            scope=rule.scope.value,
            scope_id=rule.scope_id,
            target=names.get((rule.scope, rule.scope_id), f"#{rule.scope_id} (gone)"),
            required=rule.required,
            set_by=rule.set_by,
            updated_at=rule.updated_at,
        )
        for rule in sorted(rules, key=lambda r: (order[r.scope], r.scope_id))
    ]
