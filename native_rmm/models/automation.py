"""Automation tables: alert rules and what each did per alert, schedules and their runs, approval notices,
and patch policies with their runs and per-device reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class RulePhase(StrEnum):
    """When a rule's step ran: on the alert, as a remediation re-try, or when the alert resolved."""

    RAISED = "raised"
    REMEDIATION = "remediation"
    RESOLVED = "resolved"


def _enum(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class AlertRule(Base):
    """Which alerts a rule matches (``match``) and the actions it runs on them in order (``actions``).

    Both are stored as JSON validated by :mod:`native_rmm.automation.schemas`. Actions run as the
    caller ``automation`` on behalf of ``owner_user_id``; a rule sees alerts first seen after it was
    created (a new rule does not replay history; its dry run does).
    """

    __tablename__ = "automation_alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    match: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRuleRun(Base):
    """One step a rule took for one alert: the gate's answer (done / pending approval / refused / failed)."""

    __tablename__ = "automation_rule_runs"
    __table_args__ = (Index("ix_automation_rule_runs_rule_alert", "rule_id", "alert_id", "phase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_alert_rules.id", ondelete="CASCADE"))
    alert_id: Mapped[int] = mapped_column(ForeignKey("rmm_alerts.id", ondelete="CASCADE"), index=True)
    phase: Mapped[RulePhase] = mapped_column(_enum(RulePhase))
    action_index: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    tool_id: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(Integer, default=None)
    approval_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Schedule(Base):
    """A tool run on a timetable: ``tool`` with ``args`` on ``target`` devices, by ``trigger`` in ``timezone``.

    ``trigger`` is ``{"kind": "once", "at": ISO}``, ``{"kind": "cron", "cron": "m h dom mon dow"}`` or
    ``{"kind": "interval", "seconds": N}`` (validated by :mod:`native_rmm.automation.schedule_schemas`).
    ``next_run_at`` is the next slot (None once finished). A standing approval (``standing_*``) is kept
    only until the schedule is edited.
    """

    __tablename__ = "automation_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    tool: Mapped[str] = mapped_column(String(40))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    target: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    end_at: Mapped[datetime | None] = mapped_column(default=None)
    misfire: Mapped[str] = mapped_column(String(20), default="skip")
    approval_mode: Mapped[str] = mapped_column(String(20), default="each_run")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[str | None] = mapped_column(String(30), default=None)
    standing_approval_id: Mapped[int | None] = mapped_column(Integer, default=None)
    standing_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    standing_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduleRun(Base):
    """One slot of a schedule: claimed once (unique per slot), with the gate's answers and the commands queued."""

    __tablename__ = "automation_schedule_runs"
    __table_args__ = (Index("ix_automation_schedule_runs_slot", "schedule_id", "due_at", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("automation_schedules.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text, default="")
    approval_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    command_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class ApprovalNotice(Base):
    """That an approval's request, reminder or decision was routed (each at most once)."""

    __tablename__ = "automation_approval_notices"
    __table_args__ = (Index("ix_automation_approval_notices_once", "approval_id", "kind", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("approvals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PatchPolicy(Base):
    """Which patch categories install automatically on a customer's, a site's or a group's devices, in a
    maintenance window (a crontab line in ``timezone``), and how the devices reboot afterwards.

    ``scope_kind`` is ``customer``, ``site`` or ``group`` and ``scope_id`` the id of that customer, site
    or saved group. Which policy governs a device when several name it is decided in
    :mod:`native_rmm.automation.patch_policies` (the most specific scope wins).
    """

    __tablename__ = "automation_patch_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope_kind: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[int] = mapped_column(Integer)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    cron: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    reboot: Mapped[str] = mapped_column(String(20), default="if_required")
    reboot_warning_minutes: Mapped[int] = mapped_column(Integer, default=5)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PatchPolicyRun(Base):
    """One run of a patch policy: its window's slot (unique per policy and slot) or a manual run.

    ``status``: ``requested`` (waiting for the leader) -> ``running`` (installs queued) -> ``done``
    (every device reached a final state), or ``missed`` (the hub was down through the window).
    """

    __tablename__ = "automation_patch_policy_runs"
    __table_args__ = (Index("ix_automation_patch_policy_runs_slot", "policy_id", "due_at", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("automation_patch_policies.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(20), default="window")
    requested_by: Mapped[str] = mapped_column(String(200), default="")
    requested_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    due_at: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(30), default="requested", index=True)
    message: Mapped[str] = mapped_column(Text, default="")


class PatchRunDevice(Base):
    """What one run did on one device: the install command (or its approval), the reboot, and the outcome.

    ``status``: ``pending_approval``, ``installing``, ``installed``, ``failed`` (``reason`` says why),
    ``pending_reboot``, ``reboot_scheduled``, ``nothing_to_install`` or ``refused``.
    """

    __tablename__ = "automation_patch_run_devices"
    __table_args__ = (Index("ix_automation_patch_run_devices_run", "run_id", "device_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("automation_patch_policy_runs.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("rmm_devices.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(30), index=True)
    patch_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    command_id: Mapped[int | None] = mapped_column(Integer, default=None)
    approval_id: Mapped[int | None] = mapped_column(Integer, default=None)
    reboot_required: Mapped[bool] = mapped_column(Boolean, default=False)
    reboot_command_id: Mapped[int | None] = mapped_column(Integer, default=None)
    reboot_approval_id: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
