"""Alert rules: create, list, get, edit, delete (admin; audited), and the dry run. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller
from hub.core.changes import owner_of, record_change, require_admin
from hub.core.db import require_in_org, utcnow
from hub.core.errors import NotFound, UnknownToolError
from hub.core.registry import ToolRegistry
from native_rmm.automation.engine import LOOKBACK, alert_link
from native_rmm.automation.matching import matches, placements
from native_rmm.automation.schemas import DryRunAlert, DryRunResult, DryRunStep, RuleIn, RuleMatch
from native_rmm.automation.steps import ACTIONS, step_for
from native_rmm.models.alerts import Alert
from native_rmm.models.automation import AlertRule, AlertRuleRun
from native_rmm.models.devices import DeviceGroup
from policies.service import policy_for


def _require_admin(actor: Caller) -> None:
    require_admin(actor, "only admins change alert rules")


def _owner(actor: Caller) -> int:
    return owner_of(actor, "an alert rule needs a person to own it")


def _audit(session: AsyncSession, actor: Caller, what: str, rule: AlertRule) -> None:
    record_change(
        session, actor=actor.actor, org_id=actor.org_id, outcome=what, detail={"alert_rule": rule.id, "name": rule.name}
    )


async def _check_groups(session: AsyncSession, *, org_id: int, group_ids: Sequence[int]) -> None:
    """Every saved group a rule names must exist in the organisation."""
    if not group_ids:
        return
    stmt = select(DeviceGroup.id).where(DeviceGroup.org_id == org_id, DeviceGroup.id.in_(list(group_ids)))
    missing = sorted(set(group_ids) - set((await session.scalars(stmt)).all()))
    if missing:
        shown = ", ".join(f"#{i}" for i in missing)
        raise NotFound(f"no device group {shown} in this organisation; rmm-list-groups lists the groups")


async def create_rule(session: AsyncSession, *, actor: Caller, data: RuleIn) -> AlertRule:
    """Create a rule owned by ``actor`` (its actions run on their behalf)."""
    _require_admin(actor)
    owner = _owner(actor)
    await _check_groups(session, org_id=actor.org_id, group_ids=data.match.group_ids)
    rule = AlertRule(
        org_id=actor.org_id,
        name=data.name,
        owner_user_id=owner,
        enabled=data.enabled,
        match=data.match.model_dump(mode="json"),
        actions=[a.model_dump(mode="json") for a in data.actions],
    )
    session.add(rule)
    await session.flush()
    _audit(session, actor, "created", rule)
    return rule


async def get_rule(session: AsyncSession, *, org_id: int, rule_id: int) -> AlertRule:
    """One rule of the organisation.

    Raises:
        NotFound: no such rule here.
    """
    return await require_in_org(session, AlertRule, rule_id, org_id, missing=f"alert rule {rule_id} does not exist")


async def list_rules(session: AsyncSession, *, org_id: int) -> Sequence[AlertRule]:
    """The organisation's rules by name."""
    return (await session.scalars(select(AlertRule).where(AlertRule.org_id == org_id).order_by(AlertRule.name))).all()


async def update_rule(session: AsyncSession, *, actor: Caller, rule_id: int, data: RuleIn) -> AlertRule:
    """Replace a rule's name, match and actions; its history stays. The editor becomes its owner: the rule
    acts on behalf of whoever last decided what it does, never of someone who did not see the new actions."""
    _require_admin(actor)
    owner = _owner(actor)
    rule = await get_rule(session, org_id=actor.org_id, rule_id=rule_id)
    await _check_groups(session, org_id=actor.org_id, group_ids=data.match.group_ids)
    rule.name, rule.enabled, rule.owner_user_id = data.name, data.enabled, owner
    rule.match = data.match.model_dump(mode="json")
    rule.actions = [a.model_dump(mode="json") for a in data.actions]
    await session.flush()
    _audit(session, actor, "updated", rule)
    return rule


async def pause_rule(session: AsyncSession, *, actor: Caller, rule_id: int, paused: bool) -> AlertRule:
    """Disable a rule (it takes no new alerts) or enable it again."""
    _require_admin(actor)
    rule = await get_rule(session, org_id=actor.org_id, rule_id=rule_id)
    rule.enabled = not paused
    await session.flush()
    _audit(session, actor, "paused" if paused else "resumed", rule)
    return rule


async def delete_rule(session: AsyncSession, *, actor: Caller, rule_id: int) -> None:
    """Delete a rule and its run history."""
    _require_admin(actor)
    rule = await get_rule(session, org_id=actor.org_id, rule_id=rule_id)
    _audit(session, actor, "deleted", rule)
    await session.delete(rule)


async def rule_runs(session: AsyncSession, *, org_id: int, rule_id: int, limit: int = 100) -> Sequence[AlertRuleRun]:
    """What the rule did, newest first."""
    stmt = select(AlertRuleRun).where(AlertRuleRun.org_id == org_id, AlertRuleRun.rule_id == rule_id)
    return (await session.scalars(stmt.order_by(AlertRuleRun.id.desc()).limit(limit))).all()


async def dry_run(
    session: AsyncSession,
    registry: ToolRegistry,
    *,
    org_id: int,
    rule_id: int,
    base_url: str,
    now: datetime | None = None,
) -> DryRunResult:
    """What the rule would have done for the alerts of the last 24 hours (nothing is run or recorded)."""
    rule = await get_rule(session, org_id=org_id, rule_id=rule_id)
    since = (now or utcnow()) - LOOKBACK
    alerts = (
        await session.scalars(
            select(Alert).where(Alert.org_id == org_id, Alert.first_seen_at >= since).order_by(Alert.id).limit(2000)
        )
    ).all()
    match = RuleMatch.model_validate(rule.match)
    where = await placements(session, alerts, group_ids=match.group_ids)
    actions = ACTIONS.validate_python(rule.actions)
    out: list[DryRunAlert] = []
    for alert in alerts:
        if not matches(match, alert, where[alert.id]):
            continue
        steps: list[DryRunStep] = []
        for action in actions:
            step = step_for(action, alert, where[alert.id], link=alert_link(base_url, alert))
            try:
                tool = registry.resolve(step.tool or "", org_id)
            except UnknownToolError:
                steps.append(
                    DryRunStep(
                        action=step.action,
                        tool=step.tool,
                        policy="-",
                        would="skip: the tool is not available (connector not present?)",
                    )
                )
                continue
            policy = (await policy_for(session, org_id, tool)).mode.value
            would = (
                f"skip: {step.skipped}"
                if step.skipped
                else {
                    "auto": f"run {tool.name}",
                    "approval": f"ask for approval of {tool.name}",
                    "never": f"be refused: {tool.name} is not allowed by policy",
                }[policy]
            )
            steps.append(DryRunStep(action=step.action, tool=tool.id, policy=policy, would=would))
        out.append(
            DryRunAlert(
                alert_id=alert.id,
                severity=alert.severity,
                message=alert.message,
                first_seen_at=alert.first_seen_at,
                steps=steps,
            )
        )
    return DryRunResult(rule_id=rule.id, examined=len(alerts), matched=len(out), alerts=out)
