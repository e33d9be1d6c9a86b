"""Approval routing (leader-only job): approvers are told of each request on the channels marked for
approvals (email with a link to the approval's page; webhooks), reminded before it expires, and the
requester is told the decision (to their email on email channels). When the request came from an
alert rule that opened a ticket, a note goes on the ticket too (``rmm-comment-ticket`` through the gate).

Deciding still needs a signed-in approver: the link only opens the approval queue. Each notice is sent
at most once per approval (:class:`ApprovalNotice`), so restarts and other replicas never repeat it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller, CallerKind
from hub.core.db import Database, utcnow
from hub.core.models import User
from hub.core.notify import service as notify
from hub.core.roles import Role
from native_rmm.models.automation import ApprovalNotice
from policies.models import Approval, ApprovalStatus
from policies.pipeline import Gate

JOB_NAME = "automation-approval-routing"
JOB_SECONDS = 5.0
REMIND_BEFORE = timedelta(hours=1)
LOOKBACK = timedelta(days=2)


def approval_link(base_url: str, approval_id: int) -> str:
    """The approval's place in the queue (signing in is still needed to decide)."""
    return f"{base_url.rstrip('/')}/policies?tab=approvals#approval-{approval_id}"


class ApprovalRouter:
    """Sends approval notices."""

    def __init__(self, db: Database, gate: Gate) -> None:
        self._db = db
        self._gate = gate

    async def tick(self, *, now: datetime | None = None) -> int:
        """One pass; returns how many notices were sent."""
        now = now or utcnow()
        sent = 0
        async with self._db.transaction() as session:
            stmt = (
                select(Approval)
                .where(
                    Approval.created_at >= now - LOOKBACK,
                    or_(Approval.status == ApprovalStatus.PENDING, Approval.decided_at.is_not(None)),
                )
                .order_by(Approval.id)
            )
            approvals = list((await session.scalars(stmt.limit(500))).all())
            done = (
                {
                    (n.approval_id, n.kind)
                    for n in (
                        await session.scalars(
                            select(ApprovalNotice).where(ApprovalNotice.approval_id.in_([a.id for a in approvals]))
                        )
                    ).all()
                }
                if approvals
                else set()
            )
            for approval in approvals:
                for kind in self._due(approval, now):
                    if (approval.id, kind) not in done:
                        await self._notice(session, approval, kind)
                        sent += 1
        return sent

    @staticmethod
    def _due(approval: Approval, now: datetime) -> list[str]:
        kinds = ["requested"]
        if (
            approval.status is ApprovalStatus.PENDING
            and approval.expires_at - REMIND_BEFORE <= now < approval.expires_at
        ):
            kinds.append("reminder")
        if approval.status is not ApprovalStatus.PENDING and approval.decided_at is not None:
            kinds.append("decided")
        return kinds

    async def _notice(self, session: AsyncSession, approval: Approval, kind: str) -> None:
        session.add(ApprovalNotice(org_id=approval.org_id, approval_id=approval.id, kind=kind))
        tool = approval.tool_id.split(":")[-1]
        link = approval_link(self._gate.settings.base_url, approval.id)
        extra_to: str | None = None
        if kind == "requested":
            subject = f"Approval #{approval.id} requested: {tool} by {approval.requester_label}"
            body = (
                f"{approval.requester_label} asks to run {tool}.\nReason: {approval.reason or '-'}\n"
                f"It expires {approval.expires_at:%Y-%m-%d %H:%M} UTC. Sign in to decide."
            )
        elif kind == "reminder":
            subject = f"Reminder: approval #{approval.id} ({tool}) expires at {approval.expires_at:%H:%M} UTC"
            body = f"{approval.requester_label} is still waiting for a decision on {tool}."
        else:
            subject = f"Approval #{approval.id} {approval.status.value}: {tool}"
            body = (
                f"{approval.decided_by_label or 'the hub'} decided: {approval.status.value} ({tool}, asked by "
                f"{approval.requester_label})."
            )
            extra_to = await _requester_email(session, approval)
        for channel in await notify.approval_channels(session, org_id=approval.org_id):
            await notify.enqueue(
                session,
                org_id=approval.org_id,
                channel_id=channel.id,
                topic=f"approval.{kind}",
                subject=subject,
                body=body,
                link=link,
                extra_to=extra_to,
            )
        ticket_id = approval.context.get("ticket_id") if isinstance(approval.context, dict) else None
        if isinstance(ticket_id, int) and kind in ("requested", "decided"):
            caller = Caller(
                user_id=None,
                label="approval routing",
                role=Role.OPERATOR,
                org_id=approval.org_id,
                kind=CallerKind.SYSTEM,
            )
            await self._gate.invoke(
                session,
                caller,
                "native_rmm:rmm-comment-ticket",
                {"ticket_id": ticket_id, "body": f"{subject}. {link}"},
                reason=f"approval routing for #{approval.id}",
            )


async def _requester_email(session: AsyncSession, approval: Approval) -> str | None:
    for user_id in (approval.on_behalf_of_user_id, approval.requester_user_id):
        if user_id is not None:
            user = await session.get(User, user_id)
            if user is not None and user.email:
                return user.email
    return None
