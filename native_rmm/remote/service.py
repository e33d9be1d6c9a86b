"""Remote-session records: the row a session tool writes, the trail the relay reports, consent rules.

Services flush, never commit (the request or the recorder's transaction commits).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import Actor, AuditEvent
from hub.core.caller import Caller
from hub.core.db import utcnow
from hub.core.models import Site
from hub.core.tickets import SessionEvent, SessionEventKind, SessionKind
from native_rmm.models.devices import Device
from native_rmm.models.remote import (
    ConsentScope,
    RemoteConsentRule,
    RemoteSession,
    RemoteSessionEvent,
    RemoteSessionStatus,
)

CONSENT_OUTCOMES = {SessionEventKind.CONSENT_GIVEN: "given", SessionEventKind.CONSENT_DECLINED: "declined"}


async def consent_required(session: AsyncSession, *, org_id: int, device: Device) -> bool:
    """Whether connecting to ``device`` needs its end user's consent (device, then site, then customer rule)."""
    customer_id = await session.scalar(select(Site.customer_id).where(Site.id == device.site_id))
    rules = (await session.scalars(select(RemoteConsentRule).where(RemoteConsentRule.org_id == org_id))).all()
    by_scope = {(rule.scope, rule.scope_id): rule.required for rule in rules}
    for key in ((ConsentScope.DEVICE, device.id), (ConsentScope.SITE, device.site_id),
                (ConsentScope.CUSTOMER, customer_id)):  # fmt: skip
        if key in by_scope:
            return by_scope[key]
    return False


async def set_consent_rule(
    session: AsyncSession, *, org_id: int, scope: ConsentScope, scope_id: int, required: bool | None, actor: Actor
) -> RemoteConsentRule | None:
    """Set (``required`` True/False) or clear (None: inherit) the privacy-mode rule of one scope."""
    rule = await session.scalar(
        select(RemoteConsentRule).where(
            RemoteConsentRule.org_id == org_id, RemoteConsentRule.scope == scope, RemoteConsentRule.scope_id == scope_id
        )
    )
    if required is None:
        if rule is not None:
            await session.delete(rule)
    elif rule is None:
        rule = RemoteConsentRule(org_id=org_id, scope=scope, scope_id=scope_id, required=required, set_by=actor.label)
        session.add(rule)
    else:
        rule.required, rule.set_by, rule.updated_at = required, actor.label, utcnow()
    audit.record(
        session, event=AuditEvent.DEVICE_CHANGED, actor=actor, org_id=org_id, outcome="remote.consent",
        detail={"scope": scope.value, "scope_id": scope_id, "required": required},
    )  # fmt: skip
    await session.flush()
    return None if required is None else rule


async def create_session(
    session: AsyncSession,
    *,
    sid: str,
    org_id: int,
    device: Device,
    kind: SessionKind,
    caller: Caller,
    relay_url: str,
    command_id: int | None,
    consent: bool,
) -> RemoteSession:
    """The row of a session a tool just opened."""
    row = RemoteSession(
        sid=sid, org_id=org_id, device_id=device.id, kind=kind.value, opened_by=caller.label[:200],
        opened_by_user_id=caller.user_id, command_id=command_id, relay_url=relay_url,
        quick_support=device.quick_support, consent_required=consent, viewers=[],
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


def end_demo(row: RemoteSession, note: str) -> None:
    """Demo devices never dial a relay: the session is marked ended with the note at once."""
    row.status, row.ended_at, row.end_reason = RemoteSessionStatus.ENDED, utcnow(), note


async def apply_events(session: AsyncSession, events: list[SessionEvent]) -> int:
    """Append relay reports to their sessions' trails and update the rows; returns how many were stored.

    Events of a session this hub does not know (another deployment's relay, a forged id) are dropped.
    """
    sids = {event.session for event in events}
    rows = {
        row.sid: row for row in (await session.scalars(select(RemoteSession).where(RemoteSession.sid.in_(sids)))).all()
    }
    stored = 0
    for event in events:
        row = rows.get(event.session)
        if row is None:
            continue
        at = datetime.fromtimestamp(event.at, UTC)
        session.add(
            RemoteSessionEvent(
                session_id=row.id, kind=event.kind.value, at=at, user=event.user, viewers=event.viewers,
                role=event.role.value if event.role else None, detail=event.detail, data=dict(event.data),
            )
        )  # fmt: skip
        _summarise(session, row, event, at)
        stored += 1
    await session.flush()
    return stored


def _summarise(session: AsyncSession, row: RemoteSession, event: SessionEvent, at: datetime) -> None:
    kind = event.kind
    if kind is SessionEventKind.VIEWER_JOINED:
        if row.status is RemoteSessionStatus.PENDING:
            row.status = RemoteSessionStatus.ACTIVE
        row.viewers = [*row.viewers, event.user or "technician"]
    elif kind is SessionEventKind.VIEWER_LEFT:
        viewers = list(row.viewers)
        if (event.user or "technician") in viewers:
            viewers.remove(event.user or "technician")
        row.viewers = viewers
    elif kind is SessionEventKind.ELEVATION_USED:
        row.elevated = True
    elif kind in CONSENT_OUTCOMES:
        row.consent = CONSENT_OUTCOMES[kind]
    elif kind is SessionEventKind.FILE_TRANSFERRED:
        audit.record(
            session, event=AuditEvent.DEVICE_CHANGED, actor=Actor(user_id=None, label=event.user or "relay", via="relay"),
            org_id=row.org_id, outcome="remote.file", detail={"session": row.sid, "device_id": row.device_id, **event.data},
        )  # fmt: skip
    elif kind is SessionEventKind.ENDED:
        row.status, row.ended_at, row.end_reason, row.viewers = RemoteSessionStatus.ENDED, at, event.detail, []
        recording = event.data.get("recording")
        if isinstance(recording, str) and recording == f"{row.sid}.cast":
            row.recording = recording
