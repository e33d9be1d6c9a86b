"""Patch-policy tools: create / update (writes: approval by default), list and the run report (reads),
run now (asks the scheduler leader to run it as automation), delete (destructive)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hub.core.bounds import Id
from hub.core.registry import PolicyTarget, Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.automation import patch_policies as service
from native_rmm.automation.patch_schemas import (
    PatchDeviceReport,
    PatchPolicyIn,
    PatchPolicyOut,
    PatchRunOut,
    PatchRunReport,
)
from native_rmm.devices.queries import DeviceFilters
from native_rmm.devices.targets import match_devices
from native_rmm.models.automation import PatchPolicy

SOURCE = "native_rmm"


class PolicyRef(BaseModel):
    """Arguments naming one patch policy."""

    model_config = ConfigDict(extra="forbid")

    policy_id: Id = Field(description="the patch policy's id (from rmm-list-patch-policies)")


class UpdatePolicyArgs(PatchPolicyIn):
    """Arguments of ``rmm-update-patch-policy``: the policy id and its new definition."""

    policy_id: Id


class RunRef(BaseModel):
    """Arguments of ``rmm-get-patch-run-report``."""

    model_config = ConfigDict(extra="forbid")

    run_id: Id = Field(description="the run's id (from rmm-run-patch-policy or rmm-list-patch-policies)")


class DeviceRefArgs(BaseModel):
    """Arguments of ``rmm-get-device-patch-policy``."""

    model_config = ConfigDict(extra="forbid")

    device_id: Id


class NoArgs(BaseModel):
    """No arguments."""

    model_config = ConfigDict(extra="forbid")


class PolicyWithRuns(PatchPolicyOut):
    """A policy with its latest runs."""

    runs: list[PatchRunOut]


class PatchPolicyList(BaseModel):
    """Result of ``rmm-list-patch-policies`` (in precedence order: groups, sites, customers; oldest first)."""

    count: int
    policies: list[PolicyWithRuns]


class PatchPolicyDeleted(BaseModel):
    """Result of ``rmm-delete-patch-policy``."""

    policy_id: int
    deleted: bool = True


class DevicePolicy(BaseModel):
    """Result of ``rmm-get-device-patch-policy``: the one policy that governs the device, if any."""

    device_id: int
    policy: PatchPolicyOut | None


async def _out(ctx: ToolContext, row: PatchPolicy) -> PatchPolicyOut:
    name = await service.scope_name(ctx.session, org_id=ctx.org_id, kind=row.scope_kind, scope_id=row.scope_id)
    return PatchPolicyOut.of(row, name)


async def check_definition(ctx: ToolContext, args: PatchPolicyIn) -> list[PolicyTarget]:
    """Validate a definition in full before the gate decides (no approval is ever recorded for a crontab
    line, time zone or scope that cannot work); no other tool's policy applies."""
    await service.scope_name(ctx.session, org_id=ctx.org_id, kind=args.scope_kind, scope_id=args.scope_id)
    if isinstance(args, UpdatePolicyArgs):
        await service.get_policy(ctx.session, org_id=ctx.org_id, policy_id=args.policy_id)
    return []


async def create_policy(ctx: ToolContext, args: PatchPolicyIn) -> PatchPolicyOut:
    """Create a patch policy for a customer, a site or a device group: which categories (security,
    critical, ...) install automatically in its maintenance window (a crontab line in a time zone), and
    whether the devices reboot afterwards (never / if required / always, warning the logged-in user).
    A group policy beats a site policy, which beats a customer policy."""
    row = await service.create_policy(ctx.session, actor=ctx.caller, data=args)
    return await _out(ctx, row)


async def update_policy(ctx: ToolContext, args: UpdatePolicyArgs) -> PatchPolicyOut:
    """Change a patch policy's scope, categories, window or reboot behaviour."""
    data = PatchPolicyIn.model_validate(args.model_dump(exclude={"policy_id"}))
    row = await service.update_policy(ctx.session, actor=ctx.caller, policy_id=args.policy_id, data=data)
    return await _out(ctx, row)


async def list_policies(ctx: ToolContext, args: NoArgs) -> PatchPolicyList:
    """List the patch policies with their next window and latest runs (with per-status device counts)."""
    named = await service.list_policies(ctx.session, org_id=ctx.org_id)
    out = []
    for row, name in named:
        runs = await service.policy_runs(ctx.session, org_id=ctx.org_id, policy_id=row.id, limit=5)
        counts = await service.run_counts(ctx.session, run_ids=[r.id for r in runs])
        base = PatchPolicyOut.of(row, name)
        out.append(PolicyWithRuns(**base.model_dump(), runs=[PatchRunOut.of(r, counts[r.id]) for r in runs]))
    return PatchPolicyList(count=len(out), policies=out)


async def delete_policy(ctx: ToolContext, args: PolicyRef) -> PatchPolicyDeleted:
    """Delete a patch policy with its run reports (commands it queued stay)."""
    await service.delete_policy(ctx.session, actor=ctx.caller, policy_id=args.policy_id)
    return PatchPolicyDeleted(policy_id=args.policy_id)


async def run_policy(ctx: ToolContext, args: PolicyRef) -> PatchRunOut:
    """Run a patch policy now, outside its window: the scheduler installs the pending patches of its
    categories on the devices it governs (through the gate, as automation for you) and reboots as the
    policy says. Read the outcome with rmm-get-patch-run-report."""
    run = await service.request_run(ctx.session, actor=ctx.caller, policy_id=args.policy_id)
    return PatchRunOut.of(run, {})


async def run_report(ctx: ToolContext, args: RunRef) -> PatchRunReport:
    """The report of one patch-policy run: per device installed, failed (with the reason), pending reboot,
    reboot scheduled, waiting for approval or nothing to install."""
    run = await service.get_run(ctx.session, org_id=ctx.org_id, run_id=args.run_id)
    policy = await service.get_policy(ctx.session, org_id=ctx.org_id, policy_id=run.policy_id)
    rows = await service.run_devices(ctx.session, run_id=run.id)
    filters = DeviceFilters(device_ids=tuple(r.device_id for r in rows), include_uninstalled=True)
    found, _ = await match_devices(ctx.session, org_id=ctx.org_id, filters=filters, limit=max(len(rows), 1))
    labels = {d.id: d.where for d in found}
    counts = (await service.run_counts(ctx.session, run_ids=[run.id]))[run.id]
    return PatchRunReport(
        run=PatchRunOut.of(run, counts),
        policy=policy.name,
        devices=[PatchDeviceReport.of(r, labels.get(r.device_id, f"#{r.device_id}")) for r in rows],
    )


async def device_policy(ctx: ToolContext, args: DeviceRefArgs) -> DevicePolicy:
    """Which patch policy governs a device (a group policy beats a site policy beats a customer policy)."""
    row = await service.effective_policy(ctx.session, org_id=ctx.org_id, device_id=args.device_id)
    return DevicePolicy(device_id=args.device_id, policy=await _out(ctx, row) if row else None)


def tools() -> list[Tool]:
    """The patch-policy tools."""
    write = ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True)
    read = ToolAnnotations(read_only=True, open_world=False)
    return [
        model_tool(
            source=SOURCE,
            name="rmm-create-patch-policy",
            args_model=PatchPolicyIn,
            handler=create_policy,
            policy_targets=check_definition,
            annotations=write,
            title="Create patch policy",
            category="patches",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-update-patch-policy",
            args_model=UpdatePolicyArgs,
            handler=update_policy,
            policy_targets=check_definition,
            annotations=write,
            title="Update patch policy",
            category="patches",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-list-patch-policies",
            args_model=NoArgs,
            handler=list_policies,
            annotations=read,
            min_role=Role.VIEWER,
            title="List patch policies",
            category="patches",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-get-patch-run-report",
            args_model=RunRef,
            handler=run_report,
            annotations=read,
            min_role=Role.VIEWER,
            title="Patch run report",
            category="patches",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-get-device-patch-policy",
            args_model=DeviceRefArgs,
            handler=device_policy,
            annotations=read,
            min_role=Role.VIEWER,
            title="Device's patch policy",
            category="patches",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-run-patch-policy",
            args_model=PolicyRef,
            handler=run_policy,
            annotations=write,
            title="Run patch policy",
            category="patches",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-delete-patch-policy",
            args_model=PolicyRef,
            handler=delete_policy,
            annotations=ToolAnnotations(read_only=False, destructive=True, open_world=False),
            title="Delete patch policy",
            category="patches",
        ),
    ]
