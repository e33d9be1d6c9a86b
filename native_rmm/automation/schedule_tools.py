"""Schedule tools: create (a write: approval by default; approving it grants a standing approval when
asked for), list (read), pause/resume (non-destructive), update (voids a standing approval), delete."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hub.core.bounds import Id
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.automation import schedules
from native_rmm.automation.schedule_schemas import ScheduleIn, ScheduleOut

SOURCE = "native_rmm"


class ScheduleRef(BaseModel):
    """Arguments naming one schedule."""

    model_config = ConfigDict(extra="forbid")

    schedule_id: Id = Field(description="the schedule's id (from rmm-list-schedules)")


class PauseArgs(ScheduleRef):
    """Arguments of ``rmm-pause-schedule``."""

    paused: bool = Field(default=True, description="false resumes it")


class UpdateArgs(ScheduleIn):
    """Arguments of ``rmm-update-schedule``: the schedule id and its new definition."""

    schedule_id: Id


class NoArgs(BaseModel):
    """No arguments."""

    model_config = ConfigDict(extra="forbid")


class ScheduleList(BaseModel):
    """Result of ``rmm-list-schedules``."""

    count: int
    schedules: list[ScheduleOut]


class ScheduleDeleted(BaseModel):
    """Result of ``rmm-delete-schedule``."""

    schedule_id: int
    deleted: bool = True


async def create_schedule(ctx: ToolContext, args: ScheduleIn) -> ScheduleOut:
    """Schedule a script (with parameters), a command or a patch install on devices, a site or a customer:
    once, on a cron line or an interval, in a time zone, until an end date. With approval_mode 'standing'
    the approval of this request covers every run until it expires or the schedule is edited."""
    row = await schedules.create_schedule(ctx.session, actor=ctx.caller, data=args, secret_key=ctx.settings.secret,
                                          approval_id=ctx.approval_id)  # fmt: skip
    return ScheduleOut.of(row)


async def list_schedules(ctx: ToolContext, args: NoArgs) -> ScheduleList:
    """List the schedules with their next run, last result and standing approval."""
    rows = await schedules.list_schedules(ctx.session, org_id=ctx.org_id)
    return ScheduleList(count=len(rows), schedules=[ScheduleOut.of(r) for r in rows])


async def pause_schedule(ctx: ToolContext, args: PauseArgs) -> ScheduleOut:
    """Pause a schedule (or resume it with paused=false); nothing runs while paused."""
    row = await schedules.pause_schedule(ctx.session, actor=ctx.caller, schedule_id=args.schedule_id,
                                         paused=args.paused)  # fmt: skip
    return ScheduleOut.of(row)


async def update_schedule(ctx: ToolContext, args: UpdateArgs) -> ScheduleOut:
    """Change a schedule's tool, arguments, target or timing; any standing approval it held is void."""
    data = ScheduleIn.model_validate(args.model_dump(exclude={"schedule_id"}))
    row = await schedules.edit_schedule(ctx.session, actor=ctx.caller, schedule_id=args.schedule_id, data=data)
    return ScheduleOut.of(row)


async def delete_schedule(ctx: ToolContext, args: ScheduleRef) -> ScheduleDeleted:
    """Delete a schedule and its run history (commands it queued stay)."""
    await schedules.delete_schedule(ctx.session, actor=ctx.caller, schedule_id=args.schedule_id)
    return ScheduleDeleted(schedule_id=args.schedule_id)


def tools() -> list[Tool]:
    """The schedule tools."""
    write = ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True)
    return [
        model_tool(source=SOURCE, name="rmm-create-schedule", args_model=ScheduleIn, handler=create_schedule,
                   annotations=write, title="Create schedule", category="automation"),
        model_tool(source=SOURCE, name="rmm-list-schedules", args_model=NoArgs, handler=list_schedules,
                   annotations=ToolAnnotations(read_only=True, open_world=False), min_role=Role.VIEWER,
                   title="List schedules", category="automation"),
        model_tool(source=SOURCE, name="rmm-pause-schedule", args_model=PauseArgs, handler=pause_schedule,
                   annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=False),
                   title="Pause schedule", category="automation"),
        model_tool(source=SOURCE, name="rmm-update-schedule", args_model=UpdateArgs, handler=update_schedule,
                   annotations=write, title="Update schedule", category="automation"),
        model_tool(source=SOURCE, name="rmm-delete-schedule", args_model=ScheduleRef, handler=delete_schedule,
                   annotations=ToolAnnotations(read_only=False, destructive=True, open_world=False),
                   title="Delete schedule", category="automation"),
    ]  # fmt: skip
