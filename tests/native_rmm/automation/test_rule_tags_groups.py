"""Alert rules that match on the device's tags and saved groups: the dry run and the engine take only the
alerts of devices with one of the tags / in one of the groups (a group resolved now, from its filter)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select

from agent.protocol import OsFamily
from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.db import Database, utcnow
from hub.core.roles import Role
from native_rmm.automation import service
from native_rmm.automation.engine import RuleEngine
from native_rmm.automation.schemas import RuleIn, RuleMatch, TicketAction
from native_rmm.models.alerts import Alert, AlertSeverity, AlertSource, AlertStatus, MetricName
from native_rmm.models.automation import AlertRuleRun
from native_rmm.models.devices import DeviceGroup, DeviceTag
from tests.conftest import Tenancy
from tests.native_rmm.conftest import make_device


async def _alert(db: Database, org_id: int, device_id: int) -> int:
    async with db.transaction() as session:
        alert = Alert(
            org_id=org_id,
            device_id=device_id,
            source=AlertSource.METRIC,
            metric=MetricName.DISK,
            severity=AlertSeverity.WARNING,
            status=AlertStatus.OPEN,
            message=f"disk 91% on device {device_id}",
            first_seen_at=utcnow(),
            last_seen_at=utcnow(),
        )
        session.add(alert)
        await session.flush()
        return alert.id


async def test_tag_and_group_criteria_in_dry_run_and_engine(
    app: FastAPI, hub: HubContext, db: Database, tenancy: Tenancy
) -> None:
    finance_win = await make_device(db, tenancy.org_id, os_family=OsFamily.WINDOWS, hostname="fin-win")
    finance_linux = await make_device(db, tenancy.org_id, hostname="fin-linux")
    plain_win = await make_device(db, tenancy.org_id, os_family=OsFamily.WINDOWS, hostname="reception")
    admin = Caller(user_id=tenancy.admin.id, label="alice", role=Role.ADMIN, org_id=tenancy.org_id, kind=CallerKind.UI)
    async with db.transaction() as session:
        session.add_all(
            [DeviceTag(device_id=finance_win, tag="finance"), DeviceTag(device_id=finance_linux, tag="finance")]
        )
        group = DeviceGroup(org_id=tenancy.org_id, name="windows boxes", filters={"os_family": OsFamily.WINDOWS.value})
        session.add(group)
        await session.flush()
        by_tag = await service.create_rule(
            session,
            actor=admin,
            data=RuleIn(name="finance", match=RuleMatch(tags=["Finance"]), actions=[TicketAction()]),
        )
        by_group = await service.create_rule(
            session,
            actor=admin,
            data=RuleIn(name="windows", match=RuleMatch(group_ids=[group.id]), actions=[TicketAction()]),
        )
        both = await service.create_rule(
            session,
            actor=admin,
            data=RuleIn(
                name="finance windows",
                match=RuleMatch(tags=["finance"], group_ids=[group.id]),
                actions=[TicketAction()],
            ),
        )
        assert RuleMatch.model_validate(by_tag.match).tags == ["finance"]  # stored lower-cased, as tags are
    alerts = {d: await _alert(db, tenancy.org_id, d) for d in (finance_win, finance_linux, plain_win)}

    async def matched(rule_id: int) -> set[int]:
        async with db.transaction() as session:
            result = await service.dry_run(
                session, hub.registry, org_id=tenancy.org_id, rule_id=rule_id, base_url="http://hub.test"
            )
        assert result.examined == 3
        return {a.alert_id for a in result.alerts}

    assert await matched(by_tag.id) == {alerts[finance_win], alerts[finance_linux]}
    assert await matched(by_group.id) == {alerts[finance_win], alerts[plain_win]}
    assert await matched(both.id) == {alerts[finance_win]}

    await hub.components.get(RuleEngine).tick()
    async with db.transaction() as session:
        runs = (await session.scalars(select(AlertRuleRun))).all()
    acted = {(r.rule_id, r.alert_id) for r in runs}
    assert acted == {
        (by_tag.id, alerts[finance_win]),
        (by_tag.id, alerts[finance_linux]),
        (by_group.id, alerts[finance_win]),
        (by_group.id, alerts[plain_win]),
        (both.id, alerts[finance_win]),
    }
