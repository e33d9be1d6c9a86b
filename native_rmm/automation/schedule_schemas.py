"""Typed schedules: what runs (script, command, patch install), on which targets, when, and how misfires
and approvals are handled."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.core.bounds import Id
from native_rmm.automation.cron import check_cron, check_timezone
from native_rmm.models.automation import Schedule, ScheduleRun

ScheduleTool = Literal["run-script", "run-command", "install-patches"]
#: The gate tool each schedule kind invokes; ``run-script`` takes every device at once, the others one each.
TOOL_IDS: dict[str, str] = {
    "run-script": "native_rmm:rmm-run-script",
    "run-command": "native_rmm:rmm-run-command",
    "install-patches": "native_rmm:rmm-install-patches",
}


class TargetSpec(BaseModel):
    """Which devices: device, site or customer ``ids``, or a tag / group ``name`` (resolved at each run)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["device", "site", "customer", "tag", "group"]
    ids: list[Id] = Field(default_factory=list, max_length=200)
    name: str | None = Field(default=None, min_length=1, max_length=200, description="the tag or group")

    @model_validator(mode="after")
    def _shape(self) -> TargetSpec:
        if self.kind in ("tag", "group") and not self.name:
            raise ValueError(f"a {self.kind} target needs its name")
        if self.kind not in ("tag", "group") and not self.ids:
            raise ValueError(f"a {self.kind} target needs at least one id")
        return self


class OnceTrigger(BaseModel):
    """Run once at ``at``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["once"] = "once"
    at: AwareDatetime


class CronSpec(BaseModel):
    """Run on a crontab line (minute hour day-of-month month day-of-week) in the schedule's time zone."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["cron"] = "cron"
    cron: str = Field(min_length=9, max_length=120)

    @field_validator("cron")
    @classmethod
    def _parses(cls, value: str) -> str:
        return check_cron(value)


class IntervalSpec(BaseModel):
    """Run every ``seconds`` (at least a minute)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["interval"] = "interval"
    seconds: int = Field(ge=60, le=366 * 86400)


Trigger = Annotated[OnceTrigger | CronSpec | IntervalSpec, Field(discriminator="kind")]


class ScheduleIn(BaseModel):
    """Arguments of ``rmm-create-schedule``.

    ``args`` are the tool's own arguments without the devices: for ``run-script`` ``script`` and
    ``params``; for ``run-command`` ``command`` (and ``shell``, ``timeout_seconds``); for
    ``install-patches`` ``patch_ids`` (empty: every pending patch).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    tool: ScheduleTool
    args: dict[str, Any] = Field(default_factory=dict)
    target: TargetSpec
    trigger: Trigger
    timezone: str = Field(default="UTC", max_length=64)
    end_at: AwareDatetime | None = Field(default=None, description="no run after this moment")
    misfire: Literal["skip", "run_late"] = Field(
        default="skip", description="a slot missed while the hub was down: skip it, or run it once late"
    )
    approval_mode: Literal["each_run", "standing"] = Field(
        default="each_run",
        description="'standing': once this request is approved, runs need no further approval until it expires "
        "or the schedule is edited; 'each_run': every run asks when the tool's policy asks",
    )
    standing_days: int = Field(default=30, ge=1, le=365)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("args")
    @classmethod
    def _no_devices(cls, value: dict[str, Any]) -> dict[str, Any]:
        if {"device", "device_ids"} & value.keys():
            raise ValueError("devices come from the target, not from args")
        return value


class ScheduleOut(BaseModel):
    """A schedule as shown."""

    id: int
    name: str
    tool: ScheduleTool
    args: dict[str, Any]
    target: TargetSpec
    trigger: Trigger
    timezone: str
    end_at: datetime | None
    misfire: str
    approval_mode: str
    paused: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_status: str | None
    standing_until: datetime | None = Field(description="when the standing approval ends (None: no standing approval)")

    @classmethod
    def of(cls, row: Schedule) -> ScheduleOut:
        return cls(
            id=row.id,
            name=row.name,
            tool=row.tool,
            args=row.args,  # type: ignore[arg-type]
            target=TargetSpec.model_validate(row.target),
            trigger=row.trigger,  # type: ignore[arg-type]
            timezone=row.timezone,
            end_at=row.end_at,
            misfire=row.misfire,
            approval_mode=row.approval_mode,
            paused=row.paused,
            next_run_at=row.next_run_at,
            last_run_at=row.last_run_at,
            last_status=row.last_status,
            standing_until=row.standing_expires_at if row.standing_digest else None,
        )


class ScheduleRunOut(BaseModel):
    """One run of a schedule with the commands it queued and approvals it asked for."""

    id: int
    schedule_id: int
    due_at: datetime
    started_at: datetime
    status: str
    message: str
    approval_ids: list[int]
    command_ids: list[int]

    @classmethod
    def of(cls, row: ScheduleRun) -> ScheduleRunOut:
        return cls(
            id=row.id,
            schedule_id=row.schedule_id,
            due_at=row.due_at,
            started_at=row.started_at,
            status=row.status,
            message=row.message,
            approval_ids=row.approval_ids,
            command_ids=row.command_ids,
        )
