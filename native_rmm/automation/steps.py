"""What each action of a rule asks the gate for, given one alert (shared by the engine and the dry run)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from native_rmm.automation.matching import Placement
from native_rmm.automation.schemas import (
    Action,
    ConnectWiseTicketAction,
    NotifyAction,
    ScriptAction,
    TicketAction,
)
from native_rmm.models.alerts import Alert

CREATE_TICKET = "native_rmm:rmm-create-ticket"
UPDATE_TICKET = "native_rmm:rmm-update-ticket"
RUN_SCRIPT = "native_rmm:rmm-run-script"
NOTIFY = "notify:notify-post-message"
CW_CREATE_TICKET = "connectwise_rmm:cw-rmm-create-ticket"
ACTIONS: TypeAdapter[list[Action]] = TypeAdapter(list[Action])


@dataclass(frozen=True)
class Step:
    """A tool call for one action, or why the action is skipped for this alert."""

    action: str
    tool: str | None
    args: dict[str, Any]
    skipped: str = ""


def _title(alert: Alert) -> str:
    return f"[{alert.severity.value}] {alert.message}"[:200]


def step_for(action: Action, alert: Alert, where: Placement, *, link: str) -> Step:
    """The gate call ``action`` makes for ``alert``."""
    text = f"{alert.message}\n\nAlert #{alert.id} ({alert.source.value}, {alert.severity.value}) first seen {alert.first_seen_at:%Y-%m-%d %H:%M} UTC."
    if isinstance(action, TicketAction):
        args: dict[str, Any] = {"title": _title(alert), "description": text, "priority": action.priority.value,
                                "alert_ids": [alert.id], "device_ids": [alert.device_id] if alert.device_id else []}  # fmt: skip
        return Step("ticket", CREATE_TICKET, args)
    if isinstance(action, NotifyAction):
        return Step("notify", NOTIFY, {"channel_id": action.channel_id, "topic": "alert.raised",
                                       "subject": _title(alert), "body": text, "link": link})  # fmt: skip
    if isinstance(action, ScriptAction):
        if alert.device_id is None:
            return Step("script", RUN_SCRIPT, {}, skipped="the alert has no device to run a script on")
        return Step("script", RUN_SCRIPT, {"script": action.script, "device_ids": [alert.device_id],
                                           "params": dict(action.params)})  # fmt: skip
    assert isinstance(action, ConnectWiseTicketAction)
    company = action.companies.get(str(where.customer_id)) if where.customer_id is not None else None
    if company is None:
        return Step(
            "connectwise_ticket",
            CW_CREATE_TICKET,
            {},
            skipped="the device's customer is not mapped to a ConnectWise company",
        )
    return Step("connectwise_ticket", CW_CREATE_TICKET, {
        "summary": _title(alert), "description": text, "service_board_id": action.service_board_id,
        "source_id": action.source_id, "company_id": company,
    })  # fmt: skip
