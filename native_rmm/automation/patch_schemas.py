"""Typed patch policies: the scope (customer, site or group), the categories that install on their own,
the maintenance window (a crontab line in a time zone, as schedules take it), the reboot behaviour,
and the per-run, per-device report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.core.bounds import Id
from native_rmm.automation.cron import check_cron, check_timezone
from native_rmm.models.automation import PatchPolicy, PatchPolicyRun, PatchRunDevice

#: What a pending patch can be, from the severity the agent reports: apt's security origin
#: (``security``), Windows Update's MSRC rating (``critical``, ``important``, ``moderate``, ``low``; each
#: of them is also ``security``), softwareupdate's ``recommended``, and ``other`` for the unrated rest.
PatchCategory = Literal["security", "critical", "important", "moderate", "low", "recommended", "other"]
MSRC_RATINGS = frozenset({"critical", "important", "moderate", "low"})
ScopeKind = Literal["customer", "site", "group"]
RebootMode = Literal["never", "if_required", "always"]
#: Final device states of a run (``pending_approval`` and ``installing`` are still moving).
FINAL_DEVICE_STATES = frozenset(
    {"installed", "failed", "pending_reboot", "reboot_scheduled", "nothing_to_install", "refused"}
)


def categories_of(severity: str | None) -> set[str]:
    """The categories a patch with this reported severity belongs to."""
    rating = (severity or "").strip().lower()
    if rating in MSRC_RATINGS:
        return {rating, "security"}
    if rating in ("security", "recommended"):
        return {rating}
    return {"other"}


class PatchPolicyIn(BaseModel):
    """Arguments of ``rmm-create-patch-policy``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    scope_kind: ScopeKind = Field(description="what the policy covers: a customer, a site or a saved device group")
    scope_id: Id = Field(description="the customer's, site's or group's id")
    categories: list[PatchCategory] = Field(
        min_length=1,
        max_length=7,
        description="which pending patches install automatically, e.g. ['security', 'critical']",
    )
    cron: str = Field(
        min_length=9,
        max_length=120,
        pattern=r"^\s*\S+(\s+\S+){4}\s*$",
        description="the maintenance window's start, a crontab line (minute hour day month weekday), e.g. '0 2 * * 6'",
    )
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone of the window")
    reboot: RebootMode = Field(
        default="if_required", description="after installing: never reboot, reboot if required, or always"
    )
    reboot_warning_minutes: int = Field(
        default=5, ge=1, le=120, description="how long the logged-in user is warned before the reboot"
    )
    enabled: bool = True

    @field_validator("categories")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("cron")
    @classmethod
    def _parses(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)


class PatchPolicyOut(BaseModel):
    """A patch policy as shown."""

    id: int
    name: str
    scope_kind: ScopeKind
    scope_id: int
    scope_name: str
    categories: list[PatchCategory]
    cron: str
    timezone: str
    reboot: RebootMode
    reboot_warning_minutes: int
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None

    @classmethod
    def of(cls, row: PatchPolicy, scope_name: str) -> PatchPolicyOut:
        return cls(
            id=row.id,
            name=row.name,
            scope_kind=row.scope_kind,  # type: ignore[arg-type]
            scope_id=row.scope_id,
            scope_name=scope_name,
            categories=row.categories,  # type: ignore[arg-type]
            cron=row.cron,
            timezone=row.timezone,
            reboot=row.reboot,  # type: ignore[arg-type]
            reboot_warning_minutes=row.reboot_warning_minutes,
            enabled=row.enabled,
            next_run_at=row.next_run_at,
            last_run_at=row.last_run_at,
        )


class PatchDeviceReport(BaseModel):
    """What a run did on one device."""

    device_id: int
    device: str = Field(description="label (customer / site)")
    status: str = Field(
        description="pending_approval, installing, installed, failed, pending_reboot, reboot_scheduled, "
        "nothing_to_install or refused"
    )
    patch_ids: list[str]
    reason: str = Field(description="why it failed or was refused; what the reboot step did")
    command_id: int | None
    approval_id: int | None
    reboot_required: bool
    reboot_command_id: int | None

    @classmethod
    def of(cls, row: PatchRunDevice, label: str) -> PatchDeviceReport:
        return cls(
            device_id=row.device_id,
            device=label,
            status=row.status,
            patch_ids=row.patch_ids,
            reason=row.reason,
            command_id=row.command_id,
            approval_id=row.approval_id or row.reboot_approval_id,
            reboot_required=row.reboot_required,
            reboot_command_id=row.reboot_command_id,
        )


class PatchRunOut(BaseModel):
    """A run of a patch policy with its counts (the per-device rows come with the report)."""

    id: int
    policy_id: int
    trigger: str = Field(description="window (its maintenance window) or manual (rmm-run-patch-policy)")
    requested_by: str
    due_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status: str = Field(description="requested, running, done or missed")
    message: str
    counts: dict[str, int] = Field(description="devices per status")

    @classmethod
    def of(cls, row: PatchPolicyRun, counts: dict[str, int]) -> PatchRunOut:
        return cls(
            id=row.id,
            policy_id=row.policy_id,
            trigger=row.trigger,
            requested_by=row.requested_by,
            due_at=row.due_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            status=row.status,
            message=row.message,
            counts=counts,
        )


class PatchRunReport(BaseModel):
    """Result of ``rmm-get-patch-run-report``: the run and one row per device."""

    run: PatchRunOut
    policy: str
    devices: list[PatchDeviceReport]
