"""Alert-rule tools: list (read), dry run (read: nothing runs), create and delete (admin)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hub.core.bounds import Id
from hub.core.registry import Tool, ToolAnnotations, ToolContext, ToolRegistry, model_tool
from hub.core.roles import Role
from native_rmm.automation import service
from native_rmm.automation.schemas import DryRunResult, RuleIn, RuleOut

SOURCE = "native_rmm"


class RuleRef(BaseModel):
    """Arguments naming one alert rule."""

    model_config = ConfigDict(extra="forbid")

    rule_id: Id = Field(description="the rule's id (from rmm-list-alert-rules)")


class NoArgs(BaseModel):
    """No arguments."""

    model_config = ConfigDict(extra="forbid")


class RuleList(BaseModel):
    """Result of ``rmm-list-alert-rules``."""

    count: int
    rules: list[RuleOut]


class Deleted(BaseModel):
    """Result of a delete."""

    rule_id: int
    deleted: bool = True


async def list_alert_rules(ctx: ToolContext, args: NoArgs) -> RuleList:
    """List the alert rules: what each matches and the actions it runs in order."""
    rows = await service.list_rules(ctx.session, org_id=ctx.org_id)
    return RuleList(count=len(rows), rules=[RuleOut.of(r) for r in rows])


async def create_alert_rule(ctx: ToolContext, args: RuleIn) -> RuleOut:
    """Create an alert rule: match alerts (severity, source, metric, monitor, customer, site, device tag,
    saved device group) and run actions
    in order (native ticket, ConnectWise ticket, notify a channel, remediation script). The rule acts as
    automation on your behalf, under the same policies."""
    return RuleOut.of(await service.create_rule(ctx.session, actor=ctx.caller, data=args))


async def delete_alert_rule(ctx: ToolContext, args: RuleRef) -> Deleted:
    """Delete an alert rule and its run history (tickets it opened stay)."""
    await service.delete_rule(ctx.session, actor=ctx.caller, rule_id=args.rule_id)
    return Deleted(rule_id=args.rule_id)


def tools(registry: ToolRegistry) -> list[Tool]:
    """The alert-rule tools; the dry run asks ``registry`` which tools and policies would apply."""

    async def dry_run_alert_rule(ctx: ToolContext, args: RuleRef) -> DryRunResult:
        """Dry-run an alert rule against the alerts of the last 24 hours: which it matches and what each
        action would have done under today's policies. Nothing is run or recorded."""
        return await service.dry_run(
            ctx.session, registry, org_id=ctx.org_id, rule_id=args.rule_id, base_url=ctx.settings.base_url
        )

    read = ToolAnnotations(read_only=True, open_world=False)
    return [
        model_tool(
            source=SOURCE,
            name="rmm-list-alert-rules",
            args_model=NoArgs,
            handler=list_alert_rules,
            annotations=read,
            min_role=Role.VIEWER,
            title="List alert rules",
            category="automation",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-dry-run-alert-rule",
            args_model=RuleRef,
            handler=dry_run_alert_rule,
            annotations=read,
            min_role=Role.OPERATOR,
            title="Dry-run alert rule",
            category="automation",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-create-alert-rule",
            args_model=RuleIn,
            handler=create_alert_rule,
            annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=False),
            min_role=Role.ADMIN,
            title="Create alert rule",
            category="automation",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-delete-alert-rule",
            args_model=RuleRef,
            handler=delete_alert_rule,
            annotations=ToolAnnotations(read_only=False, destructive=True, open_world=False),
            min_role=Role.ADMIN,
            title="Delete alert rule",
            category="automation",
        ),
    ]
