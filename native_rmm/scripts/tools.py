"""Static script tools: list the library, run any script (generic runner), list script runs.

The per-script tools (``rmm-script-<slug>``) are in :mod:`native_rmm.scripts.dynamic`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.core.bounds import BoundedInt, Id
from hub.core.describe import Description
from hub.core.errors import NotFound, ToolError
from hub.core.registry import PolicyTarget, Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.commands.describe import on_devices
from native_rmm.devices.targets import MAX_TARGETS, Targets, resolve_ids
from native_rmm.models.scripts import ScriptOsType
from native_rmm.scripts import runs, service
from native_rmm.scripts.schemas import DeviceIds, RunResult, ScriptRunOut, ScriptSummary

SOURCE = "native_rmm"
OUTPUT_PREVIEW_CHARS = 4000


class ListScriptsArgs(BaseModel):
    """Arguments of ``rmm-list-scripts``."""

    model_config = ConfigDict(extra="forbid")

    os_type: ScriptOsType | None = Field(default=None, description="only scripts for this OS (ALL scripts included)")
    search: str | None = Field(default=None, max_length=200, description="text in the name, slug or description")
    include_disabled: bool = False


class ScriptList(BaseModel):
    """Result of ``rmm-list-scripts``."""

    count: int
    scripts: list[ScriptSummary]


class RunScriptArgs(BaseModel):
    """Arguments of ``rmm-run-script``."""

    model_config = ConfigDict(extra="forbid")

    script: Id | Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="the script's id or slug (from rmm-list-scripts)"
    )
    device_ids: DeviceIds | None = Field(default=None, description="ids of the devices to run it on")
    targets: Targets | None = Field(
        default=None, description=f"instead of device_ids: a tag, saved group, site or customer (at most {MAX_TARGETS})"
    )
    params: dict[str, str | BoundedInt | float | bool] = Field(
        default_factory=dict, description="values for the script's parameters (see its parameter schema)"
    )

    @model_validator(mode="after")
    def _one_way(self) -> RunScriptArgs:
        if (self.device_ids is None) == (self.targets is None):
            raise ValueError("name the devices either as device_ids or as targets (a tag, group, site or customer)")
        return self

    async def resolved_ids(self, ctx: ToolContext) -> list[int]:
        """The device ids to run on (``targets`` resolved now)."""
        if self.device_ids is not None:
            return list(self.device_ids)
        assert self.targets is not None
        return await resolve_ids(ctx.session, org_id=ctx.org_id, targets=self.targets)


class ListRunsArgs(BaseModel):
    """Arguments of ``rmm-list-script-runs``."""

    model_config = ConfigDict(extra="forbid")

    device_id: Id | None = Field(default=None, description="only runs on this device")
    script: Id | Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="only runs of this script (id or slug)"
    )
    limit: int = Field(default=20, ge=1, le=100)


class RunList(BaseModel):
    """Result of ``rmm-list-script-runs`` (output trimmed to the last characters)."""

    count: int
    runs: list[ScriptRunOut]


async def list_scripts(ctx: ToolContext, args: ListScriptsArgs) -> ScriptList:
    """List the scripts of the RMM script library with their parameters (not their bodies)."""
    rows = await service.list_scripts(
        ctx.session, org_id=ctx.org_id, enabled=None if args.include_disabled else True, os_type=args.os_type,
        search=args.search,
    )  # fmt: skip
    return ScriptList(count=len(rows), scripts=[ScriptSummary.of(s) for s in rows])


async def run_script(ctx: ToolContext, args: RunScriptArgs) -> RunResult:
    """Run a script from the RMM library on devices; params are validated against the script's schema."""
    script = await service.find_script(ctx.session, org_id=ctx.org_id, ref=args.script)
    return await runs.run_script(
        ctx.session, caller=ctx.caller, script_id=script.id, device_ids=await args.resolved_ids(ctx), params=args.params,
        approval_id=ctx.approval_id, bus=ctx.bus,
    )  # fmt: skip


async def run_script_targets(ctx: ToolContext, args: RunScriptArgs) -> list[PolicyTarget]:
    """The script's own tool governs a run through the generic runner (with the args it takes).

    Targets (a tag, group, ...) are resolved here, so an approval holds (and names) the exact devices.
    """
    try:
        script = await service.find_script(ctx.session, org_id=ctx.org_id, ref=args.script)
        device_ids = await args.resolved_ids(ctx)
    except (NotFound, ToolError):
        return []  # the runner reports the unknown script or the empty selection when it runs
    target_args = {**args.params, "device_ids": device_ids}
    return [PolicyTarget(tool_id=f"{SOURCE}:{script.tool_name}", args=target_args)]


async def describe_run_script(ctx: ToolContext, args: RunScriptArgs) -> Description:
    """``Run script “Disk report” (bash) on 3 devices as root``, with its body, parameters and every target."""
    script = await service.find_script(ctx.session, org_id=ctx.org_id, ref=args.script)
    shell = script.shell.value
    return await on_devices(
        ctx.session,
        org_id=ctx.org_id,
        device_ids=await args.resolved_ids(ctx),
        what=f"Run script “{script.name}” ({shell})",
        body=script.body,
        body_label=f"Script body ({shell})",
        params={k: str(v) for k, v in args.params.items()},
    )


def _tail(text: str) -> str:
    return text if len(text) <= OUTPUT_PREVIEW_CHARS else "…" + text[-OUTPUT_PREVIEW_CHARS:]


async def list_script_runs(ctx: ToolContext, args: ListRunsArgs) -> RunList:
    """List recent script runs (status, exit code and the end of their output), newest first."""
    script_id = None
    if args.script is not None:
        script_id = (await service.find_script(ctx.session, org_id=ctx.org_id, ref=args.script)).id
    rows = await runs.list_script_runs(
        ctx.session, org_id=ctx.org_id, device_id=args.device_id, script_id=script_id, limit=args.limit
    )
    trimmed = [r.model_copy(update={"stdout": _tail(r.stdout), "stderr": _tail(r.stderr)}) for r in rows]
    return RunList(count=len(trimmed), runs=trimmed)


def static_tools() -> list[Tool]:
    """The global script tools."""
    read = ToolAnnotations(read_only=True, open_world=False)
    return [
        model_tool(
            source=SOURCE, name="rmm-list-scripts", args_model=ListScriptsArgs, handler=list_scripts,
            annotations=read, min_role=Role.VIEWER, title="List scripts", category="scripts",
        ),
        model_tool(
            source=SOURCE, name="rmm-run-script", args_model=RunScriptArgs, handler=run_script,
            policy_targets=run_script_targets, describe=describe_run_script,
            annotations=ToolAnnotations(read_only=False, idempotent=False, open_world=True),
            title="Run script", category="scripts",
        ),
        model_tool(
            source=SOURCE, name="rmm-list-script-runs", args_model=ListRunsArgs, handler=list_script_runs,
            annotations=read, min_role=Role.VIEWER, title="List script runs", category="scripts",
        ),
    ]  # fmt: skip
