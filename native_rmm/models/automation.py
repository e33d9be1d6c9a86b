"""Automation tables: alert rules and the record of what each rule did for each alert."""

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
