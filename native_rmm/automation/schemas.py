"""Typed alert-rule matches and actions (stored as JSON on :class:`~native_rmm.models.automation.AlertRule`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.core.bounds import BoundedInt, Id
from native_rmm.devices.targets import Tag
from native_rmm.models.alerts import AlertSeverity, AlertSource, MetricName
from native_rmm.models.automation import AlertRule, AlertRuleRun, RulePhase
from native_rmm.models.tickets import TicketPriority


class RuleMatch(BaseModel):
    """Which alerts a rule takes: every list that is not empty must contain the alert's value."""

    model_config = ConfigDict(extra="forbid")

    severities: list[AlertSeverity] = Field(default_factory=list)
    sources: list[AlertSource] = Field(default_factory=list, description="metric thresholds or monitors")
    metrics: list[MetricName] = Field(default_factory=list)
    monitor_ids: list[Id] = Field(default_factory=list, max_length=200)
    customer_ids: list[Id] = Field(default_factory=list, max_length=200)
    site_ids: list[Id] = Field(default_factory=list, max_length=200)
    tags: list[Tag] = Field(default_factory=list, max_length=50, description="the device carries any of these tags")
    group_ids: list[Id] = Field(
        default_factory=list, max_length=50, description="the device is in any of these saved groups (as it is now)"
    )

    @model_validator(mode="before")
    @classmethod
    def _lower_tags(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("tags"), list):
            return {**data, "tags": [t.strip().lower() if isinstance(t, str) else t for t in data["tags"]]}
        return data


def _kind_required(schema: dict[str, Any]) -> None:
    """``kind`` picks the action (the discriminator): a request must name it, though code may leave it out."""
    schema["required"] = ["kind", *[r for r in schema.get("required", []) if r != "kind"]]


class TicketAction(BaseModel):
    """Open a native ticket for the alert (one per alert, linked; closed with a note when it auto-resolves)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_kind_required)

    kind: Literal["ticket"] = "ticket"
    priority: TicketPriority = TicketPriority.NORMAL


class ConnectWiseTicketAction(BaseModel):
    """Open a ConnectWise ticket through the connector's tool when the connector is present."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_kind_required)

    kind: Literal["connectwise_ticket"] = "connectwise_ticket"
    service_board_id: str = Field(min_length=1, max_length=64)
    source_id: str = Field(min_length=1, max_length=64)
    companies: dict[str, str] = Field(
        default_factory=dict, description="hub customer id -> ConnectWise company id; unmapped customers are skipped"
    )


class NotifyAction(BaseModel):
    """Send the alert to a notification channel."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_kind_required)

    kind: Literal["notify"] = "notify"
    channel_id: Id


class ScriptAction(BaseModel):
    """Run a library script on the alert's device; re-tried while the alert stays active."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_kind_required)

    kind: Literal["script"] = "script"
    script: Annotated[str, Field(min_length=1, max_length=64)] = Field(description="the script's slug or id")
    params: dict[str, str | BoundedInt | float | bool] = Field(default_factory=dict)
    cooldown_minutes: int = Field(default=15, ge=1, le=10080)
    max_attempts: int = Field(default=3, ge=1, le=20)


Action = Annotated[TicketAction | ConnectWiseTicketAction | NotifyAction | ScriptAction, Field(discriminator="kind")]


class RuleIn(BaseModel):
    """A new or edited alert rule."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    enabled: bool = True
    match: RuleMatch = Field(default_factory=RuleMatch)
    actions: list[Action] = Field(min_length=1, max_length=10)


class RuleOut(BaseModel):
    """An alert rule as shown."""

    id: int
    name: str
    enabled: bool
    owner_user_id: int
    match: RuleMatch
    actions: list[Action]
    created_at: datetime

    @classmethod
    def of(cls, row: AlertRule) -> RuleOut:
        return cls(
            id=row.id,
            name=row.name,
            enabled=row.enabled,
            owner_user_id=row.owner_user_id,
            match=RuleMatch.model_validate(row.match),
            actions=row.actions,  # type: ignore[arg-type]
            created_at=row.created_at,
        )


class DryRunStep(BaseModel):
    """What one action would have done for one alert."""

    action: str
    tool: str | None
    policy: str = Field(description="the policy that would apply today: auto, approval or never")
    would: str


class DryRunAlert(BaseModel):
    """One alert of the last 24 hours the rule matches, and its steps."""

    alert_id: int
    severity: AlertSeverity
    message: str
    first_seen_at: datetime
    steps: list[DryRunStep]


class DryRunResult(BaseModel):
    """Result of ``rmm-dry-run-alert-rule``: what the rule would have done over the last 24 hours."""

    rule_id: int
    examined: int
    matched: int
    alerts: list[DryRunAlert]


class RuleRunOut(BaseModel):
    """One step a rule took for an alert, and the gate's answer."""

    id: int
    rule_id: int
    alert_id: int
    phase: RulePhase
    action_index: int
    action: str
    tool_id: str | None
    status: str
    message: str
    ticket_id: int | None
    approval_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: AlertRuleRun) -> RuleRunOut:
        return cls(
            id=row.id,
            rule_id=row.rule_id,
            alert_id=row.alert_id,
            phase=row.phase,
            action_index=row.action_index,
            action=row.action,
            tool_id=row.tool_id,
            status=row.status,
            message=row.message,
            ticket_id=row.ticket_id,
            approval_id=row.approval_id,
            created_at=row.created_at,
        )
