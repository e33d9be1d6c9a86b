"""Patch policies: create, edit, delete, list; which policy governs a device; manual runs and the
per-run report. Flushes, never commits.

Precedence. A device may fall under several policies (its customer's, its site's and those of the
saved groups it matches). Exactly one governs it, and only that one installs on it:

1. a **group** policy beats a **site** policy, which beats a **customer** policy (the most specific
   scope wins: a group is an explicit selection, a site is narrower than its customer);
2. between policies of the same kind (two groups the device matches), the **oldest** (lowest id) wins;
3. disabled policies do not count (the next one in this order governs).

A run of a policy therefore covers the devices of its scope that no policy earlier in this order
claims; :func:`governing` computes the map and :func:`effective_policy` answers for one device.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.caller import Caller
from hub.core.changes import owner_of, record_change
from hub.core.db import require_in_org, utcnow
from hub.core.errors import InvalidRequest, ToolNotFoundError
from hub.core.models import Customer, Site
from native_rmm.automation.patch_schemas import PatchPolicyIn
from native_rmm.automation.schedule_schemas import CronSpec
from native_rmm.automation.triggers import next_fire
from native_rmm.devices.groups import list_groups
from native_rmm.devices.queries import DeviceFilters, site_choices
from native_rmm.devices.targets import TargetDevice, find_group, group_filters, match_devices
from native_rmm.models.automation import PatchPolicy, PatchPolicyRun, PatchRunDevice

#: Scope kinds in precedence order (first wins).
PRECEDENCE = {"group": 0, "site": 1, "customer": 2}
#: The most devices one policy's scope resolves to in one run.
MAX_SCOPE_DEVICES = 5000


async def scope_name(session: AsyncSession, *, org_id: int, kind: str, scope_id: int) -> str:
    """The customer's, site's or group's name.

    Raises:
        InvalidRequest: no such customer, site or group in the organisation.
    """
    if kind == "customer":
        customer = await session.scalar(select(Customer).where(Customer.id == scope_id, Customer.org_id == org_id))
        if customer is not None:
            return customer.name
    elif kind == "site":
        stmt = select(Site.name, Customer.name).join(Customer, Customer.id == Site.customer_id)
        found = (await session.execute(stmt.where(Site.id == scope_id, Customer.org_id == org_id))).first()
        if found is not None:
            return f"{found[1]} / {found[0]}"
    else:
        try:
            return (await find_group(session, org_id=org_id, ref=scope_id)).name
        except ToolNotFoundError:
            pass
    raise InvalidRequest(f"unknown scope: no {kind} #{scope_id} in this organisation")


async def scope_devices(session: AsyncSession, *, policy: PatchPolicy) -> list[TargetDevice]:
    """The installed devices the policy's scope names now (whether or not the policy governs them)."""
    if policy.scope_kind == "group":
        try:
            filters = group_filters(await find_group(session, org_id=policy.org_id, ref=policy.scope_id))
        except ToolNotFoundError:
            return []  # the group was deleted: the policy covers nothing until it is edited
    elif policy.scope_kind == "site":
        filters = DeviceFilters(site_id=policy.scope_id)
    else:
        filters = DeviceFilters(customer_id=policy.scope_id)
    found, _ = await match_devices(session, org_id=policy.org_id, filters=filters, limit=MAX_SCOPE_DEVICES)
    return found


def precedence_key(policy: PatchPolicy) -> tuple[int, int]:
    """Sort key of the precedence order: group, site, customer; then the oldest first."""
    return PRECEDENCE[policy.scope_kind], policy.id


async def governing(session: AsyncSession, *, org_id: int) -> dict[int, tuple[PatchPolicy, TargetDevice]]:
    """Device id -> the enabled policy that governs it (see the module's precedence rules)."""
    stmt = select(PatchPolicy).where(PatchPolicy.org_id == org_id, PatchPolicy.enabled.is_(True))
    result: dict[int, tuple[PatchPolicy, TargetDevice]] = {}
    for policy in sorted((await session.scalars(stmt)).all(), key=precedence_key):
        for device in await scope_devices(session, policy=policy):
            result.setdefault(device.id, (policy, device))
    return result


async def governed_devices(session: AsyncSession, *, policy: PatchPolicy) -> list[TargetDevice]:
    """The devices this policy governs now (its scope minus what a policy earlier in the order claims)."""
    claims = await governing(session, org_id=policy.org_id)
    return [device for owner, device in claims.values() if owner.id == policy.id]


async def effective_policy(session: AsyncSession, *, org_id: int, device_id: int) -> PatchPolicy | None:
    """The policy that governs one device, or None."""
    found = (await governing(session, org_id=org_id)).get(device_id)
    return found[0] if found else None


def _schedule_next(row: PatchPolicy) -> None:
    now = utcnow()
    after = max(now, row.last_run_at) if row.last_run_at is not None else now
    row.next_run_at = next_fire(
        CronSpec(cron=row.cron), timezone=row.timezone, after=after, anchor=row.created_at, end_at=None
    )


def _audit(session: AsyncSession, actor: Caller, what: str, row: PatchPolicy) -> None:
    record_change(
        session, actor=actor.actor, org_id=actor.org_id, outcome=what, detail={"patch_policy": row.id, "name": row.name}
    )


def _apply(row: PatchPolicy, data: PatchPolicyIn) -> None:
    row.name, row.scope_kind, row.scope_id = data.name, data.scope_kind, data.scope_id
    row.categories, row.cron, row.timezone = list(data.categories), data.cron, data.timezone
    row.reboot, row.reboot_warning_minutes, row.enabled = data.reboot, data.reboot_warning_minutes, data.enabled


async def create_policy(session: AsyncSession, *, actor: Caller, data: PatchPolicyIn) -> PatchPolicy:
    """Create a policy owned by the requester (its window's runs act on the owner's behalf).

    Raises:
        InvalidRequest: the scope does not exist in the organisation.
    """
    owner = owner_of(actor, "a patch policy needs a person to own it")
    await scope_name(session, org_id=actor.org_id, kind=data.scope_kind, scope_id=data.scope_id)
    now = utcnow()
    row = PatchPolicy(org_id=actor.org_id, owner_user_id=owner, created_at=now, updated_at=now)
    _apply(row, data)
    _schedule_next(row)
    session.add(row)
    await session.flush()
    _audit(session, actor, "patch policy created", row)
    return row


async def get_policy(session: AsyncSession, *, org_id: int, policy_id: int) -> PatchPolicy:
    """One policy of the organisation.

    Raises:
        NotFound: no such policy here.
    """
    return await require_in_org(
        session, PatchPolicy, policy_id, org_id, missing=f"patch policy {policy_id} does not exist"
    )


async def update_policy(session: AsyncSession, *, actor: Caller, policy_id: int, data: PatchPolicyIn) -> PatchPolicy:
    """Change a policy's scope, categories, window or reboot behaviour (the next window is recomputed)."""
    row = await get_policy(session, org_id=actor.org_id, policy_id=policy_id)
    await scope_name(session, org_id=actor.org_id, kind=data.scope_kind, scope_id=data.scope_id)
    _apply(row, data)
    row.updated_at = utcnow()
    _schedule_next(row)
    _audit(session, actor, "patch policy edited", row)
    return row


async def delete_policy(session: AsyncSession, *, actor: Caller, policy_id: int) -> None:
    """Delete a policy with its runs and reports (the commands they queued stay)."""
    row = await get_policy(session, org_id=actor.org_id, policy_id=policy_id)
    _audit(session, actor, "patch policy deleted", row)
    await session.delete(row)


async def list_policies(session: AsyncSession, *, org_id: int) -> list[tuple[PatchPolicy, str]]:
    """The organisation's policies in precedence order, each with its scope's name."""
    rows = (await session.scalars(select(PatchPolicy).where(PatchPolicy.org_id == org_id))).all()
    named = []
    for row in sorted(rows, key=precedence_key):
        try:
            name = await scope_name(session, org_id=org_id, kind=row.scope_kind, scope_id=row.scope_id)
        except InvalidRequest:
            name = f"(deleted {row.scope_kind} #{row.scope_id})"
        named.append((row, name))
    return named


async def request_run(session: AsyncSession, *, actor: Caller, policy_id: int) -> PatchPolicyRun:
    """Ask the scheduler leader to run the policy now (it installs through the gate as automation for
    the requester, exactly as a window does for the owner)."""
    policy = await get_policy(session, org_id=actor.org_id, policy_id=policy_id)
    run = PatchPolicyRun(
        org_id=policy.org_id,
        policy_id=policy.id,
        trigger="manual",
        requested_by=actor.label[:200],
        requested_by_user_id=actor.on_behalf_of_user_id or actor.user_id,
        due_at=utcnow(),
        status="requested",
    )
    session.add(run)
    await session.flush()
    return run


async def run_counts(session: AsyncSession, *, run_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Run id -> devices per status."""
    counts: dict[int, Counter[str]] = {rid: Counter() for rid in run_ids}
    if run_ids:
        stmt = select(PatchRunDevice.run_id, PatchRunDevice.status).where(PatchRunDevice.run_id.in_(run_ids))
        for run_id, status in (await session.execute(stmt)).all():
            counts[run_id][status] += 1
    return {rid: dict(c) for rid, c in counts.items()}


async def policy_runs(
    session: AsyncSession, *, org_id: int, policy_id: int, limit: int = 20
) -> Sequence[PatchPolicyRun]:
    """A policy's runs, newest first."""
    await get_policy(session, org_id=org_id, policy_id=policy_id)
    stmt = select(PatchPolicyRun).where(PatchPolicyRun.org_id == org_id, PatchPolicyRun.policy_id == policy_id)
    return (await session.scalars(stmt.order_by(PatchPolicyRun.id.desc()).limit(limit))).all()


async def get_run(session: AsyncSession, *, org_id: int, run_id: int) -> PatchPolicyRun:
    """One run of the organisation.

    Raises:
        NotFound: no such run here.
    """
    return await require_in_org(
        session, PatchPolicyRun, run_id, org_id, missing=f"patch policy run {run_id} does not exist"
    )


async def run_devices(session: AsyncSession, *, run_id: int) -> Sequence[PatchRunDevice]:
    """A run's device rows in device order."""
    stmt = select(PatchRunDevice).where(PatchRunDevice.run_id == run_id).order_by(PatchRunDevice.device_id)
    return (await session.scalars(stmt)).all()


async def scope_choices(session: AsyncSession, *, org_id: int) -> list[tuple[str, str]]:
    """``(value, label)`` pairs for a scope picker: ``customer:ID``, ``site:ID`` and ``group:ID``."""
    sites = await site_choices(session, org_id=org_id)
    customers = dict.fromkeys((s.customer_id, s.customer_name) for s in sites)
    choices = [(f"customer:{cid}", f"Customer: {name}") for cid, name in customers]
    choices += [(f"site:{s.id}", f"Site: {s.customer_name} / {s.name}") for s in sites]
    choices += [(f"group:{g.id}", f"Group: {g.name}") for g in await list_groups(session, org_id=org_id)]
    return choices


async def latest_device_result(session: AsyncSession, *, org_id: int, device_id: int) -> PatchRunDevice | None:
    """The newest patch-policy result on one device (any policy), or None."""
    stmt = select(PatchRunDevice).where(PatchRunDevice.org_id == org_id, PatchRunDevice.device_id == device_id)
    return (await session.scalars(stmt.order_by(PatchRunDevice.id.desc()).limit(1))).first()
