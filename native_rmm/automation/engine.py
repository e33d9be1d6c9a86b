"""The alert-rule engine (leader-only job): new alerts run the rules' actions, active ones are
re-checked for remediation, auto-resolved ones get their ticket closed with a note.

Every step is :meth:`policies.pipeline.Gate.invoke` with caller ``automation`` on behalf of the
rule's owner; what the gate answered is recorded as an :class:`AlertRuleRun`, which is also what
makes the engine idempotent across restarts: an alert is acted on once per rule, a remediation
script at most ``max_attempts`` times and never within its cool-down.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller, CallerKind
from hub.core.db import Database, utcnow
from hub.core.errors import RmmHubError
from hub.core.models import User
from native_rmm.automation.matching import Placement, matches, placements
from native_rmm.automation.schemas import RuleMatch, ScriptAction, TicketAction
from native_rmm.automation.steps import ACTIONS, UPDATE_TICKET, Step, step_for
from native_rmm.models.alerts import ACTIVE_STATUSES, Alert, AlertStatus
from native_rmm.models.automation import AlertRule, AlertRuleRun, RulePhase
from policies.outcome import InvocationStatus
from policies.pipeline import Gate

log = logging.getLogger(__name__)
LOOKBACK = timedelta(hours=24)
JOB_NAME = "automation-alert-rules"
JOB_SECONDS = 5.0


async def automation_caller(session: AsyncSession, *, org_id: int, owner_user_id: int, what: str) -> Caller | None:
    """The caller an automation (``what``: "rule 'x'") acts as: ``automation`` for its owner, with the
    owner's role; None when the owner was disabled or removed."""
    owner = await session.get(User, owner_user_id)
    if owner is None or owner.disabled or owner.org_id != org_id:
        return None
    return Caller(
        user_id=None,
        label=f"{what} for {owner.username}",
        role=owner.role,
        org_id=org_id,
        kind=CallerKind.AUTOMATION,
        on_behalf_of_user_id=owner.id,
    )


def alert_link(base_url: str, alert: Alert) -> str:
    """Where a person looks at the alert."""
    return f"{base_url.rstrip('/')}/rmm?tab=alerts#alert-{alert.id}"


class RuleEngine:
    """Runs the rules of every organisation against recent alerts."""

    def __init__(self, db: Database, gate: Gate) -> None:
        self._db = db
        self._gate = gate

    async def tick(self, *, now: datetime | None = None) -> int:
        """One pass; returns how many steps were taken."""
        now = now or utcnow()
        async with self._db.transaction() as session:
            rules = list((await session.scalars(select(AlertRule).where(AlertRule.enabled.is_(True)))).all())
            work: list[tuple[int, int]] = []
            for rule in rules:
                for alert in await _candidates(session, rule, now):
                    work.append((rule.id, alert.id))
        taken = 0
        for rule_id, alert_id in work:
            async with self._db.transaction() as session:
                taken += await self._one(session, rule_id, alert_id, now)
        return taken

    async def _one(self, session: AsyncSession, rule_id: int, alert_id: int, now: datetime) -> int:
        rule, alert = await session.get(AlertRule, rule_id), await session.get(Alert, alert_id)
        if rule is None or alert is None:
            return 0
        match = RuleMatch.model_validate(rule.match)
        where = (await placements(session, [alert], group_ids=match.group_ids))[alert.id]
        if not matches(match, alert, where):
            return 0
        caller = await automation_caller(
            session, org_id=rule.org_id, owner_user_id=rule.owner_user_id, what=f"rule '{rule.name}'"
        )
        if caller is None:
            return 0
        runs = list(
            (
                await session.scalars(
                    select(AlertRuleRun)
                    .where(AlertRuleRun.rule_id == rule.id, AlertRuleRun.alert_id == alert.id)
                    .order_by(AlertRuleRun.id)
                )
            ).all()
        )
        if not any(r.phase is RulePhase.RAISED for r in runs):
            return await self._raised(session, caller, rule, alert, where)
        if alert.status in ACTIVE_STATUSES:
            return await self._recheck(session, caller, rule, alert, where, runs, now)
        if alert.status is AlertStatus.RESOLVED and not any(r.phase is RulePhase.RESOLVED for r in runs):
            return await self._resolved(session, caller, rule, alert, runs)
        return 0

    async def _invoke(
        self,
        session: AsyncSession,
        caller: Caller,
        rule: AlertRule,
        alert: Alert,
        step: Step,
        phase: RulePhase,
        index: int,
        *,
        ticket_id: int | None = None,
    ) -> AlertRuleRun:
        run = AlertRuleRun(
            org_id=rule.org_id,
            rule_id=rule.id,
            alert_id=alert.id,
            phase=phase,
            action_index=index,
            action=step.action,
            tool_id=step.tool,
        )
        if step.skipped:
            run.status, run.message = "skipped", step.skipped
        else:
            reason = f"alert rule '{rule.name}' on alert #{alert.id} ({phase.value})"
            try:
                outcome = await self._gate.invoke(
                    session,
                    caller,
                    step.tool or "",
                    step.args,
                    reason=reason,
                    context={"alert_id": alert.id, "rule_id": rule.id, "ticket_id": ticket_id},
                )
            except RmmHubError as exc:  # unknown tool (connector absent), arguments refused
                run.status, run.message = "skipped", exc.message
            else:
                run.status, run.message, run.approval_id = outcome.status.value, outcome.message, outcome.approval_id
                if (
                    outcome.status is InvocationStatus.DONE
                    and step.action == "ticket"
                    and isinstance(outcome.result, dict)
                ):
                    run.ticket_id = outcome.result.get("id")
        session.add(run)
        await session.flush()
        return run

    async def _raised(
        self, session: AsyncSession, caller: Caller, rule: AlertRule, alert: Alert, where: Placement
    ) -> int:
        link = alert_link(self._gate.settings.base_url, alert)
        ticket_id: int | None = None  # later steps' approvals name it, so approval routing notes them there
        for index, action in enumerate(ACTIONS.validate_python(rule.actions)):
            run = await self._invoke(
                session,
                caller,
                rule,
                alert,
                step_for(action, alert, where, link=link),
                RulePhase.RAISED,
                index,
                ticket_id=ticket_id,
            )
            ticket_id = ticket_id or run.ticket_id
        return len(rule.actions)

    async def _recheck(
        self,
        session: AsyncSession,
        caller: Caller,
        rule: AlertRule,
        alert: Alert,
        where: Placement,
        runs: Sequence[AlertRuleRun],
        now: datetime,
    ) -> int:
        """The alert is still active: run each remediation script again once its cool-down passed."""
        taken = 0
        link = alert_link(self._gate.settings.base_url, alert)
        for index, action in enumerate(ACTIONS.validate_python(rule.actions)):
            if not isinstance(action, ScriptAction):
                continue
            tries = [r for r in runs if r.action_index == index and r.phase is not RulePhase.RESOLVED]
            if not tries or len(tries) >= action.max_attempts:
                continue
            last = tries[-1]
            if last.status == InvocationStatus.PENDING_APPROVAL.value and last.approval_id is not None:
                continue  # still waiting for a person; asking again would only add noise
            if last.created_at + timedelta(minutes=action.cooldown_minutes) > now:
                continue
            await self._invoke(
                session, caller, rule, alert, step_for(action, alert, where, link=link), RulePhase.REMEDIATION, index
            )
            taken += 1
        return taken

    async def _resolved(
        self, session: AsyncSession, caller: Caller, rule: AlertRule, alert: Alert, runs: Sequence[AlertRuleRun]
    ) -> int:
        """Close the tickets the rule opened for an alert that resolved itself."""
        taken = 0
        actions = ACTIONS.validate_python(rule.actions)
        for run in runs:
            if run.ticket_id is None or not isinstance(actions[run.action_index], TicketAction):
                continue
            how = (
                "resolved automatically (the condition cleared)"
                if alert.auto_resolved
                else f"resolved by {alert.resolved_by_label or 'someone'}"
            )
            step = Step(
                "close_ticket",
                UPDATE_TICKET,
                {
                    "ticket_id": run.ticket_id,
                    "status": "closed",
                    "note": f"Alert #{alert.id} {how}; closed by rule '{rule.name}'.",
                },
            )
            await self._invoke(session, caller, rule, alert, step, RulePhase.RESOLVED, run.action_index)
            taken += 1
        if taken == 0:  # mark the alert done for this rule all the same
            session.add(
                AlertRuleRun(
                    org_id=rule.org_id,
                    rule_id=rule.id,
                    alert_id=alert.id,
                    phase=RulePhase.RESOLVED,
                    action_index=-1,
                    action="none",
                    status="done",
                    message="alert resolved",
                )
            )
        return taken


async def _candidates(session: AsyncSession, rule: AlertRule, now: datetime) -> Sequence[Alert]:
    """Alerts of the rule's organisation first seen since the rule existed, within the look-back."""
    since = max(rule.created_at, now - LOOKBACK)
    stmt = select(Alert).where(Alert.org_id == rule.org_id, Alert.first_seen_at >= since).order_by(Alert.id)
    return (await session.scalars(stmt.limit(2000))).all()
