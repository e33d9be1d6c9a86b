"""Scheduling a task and reporting its run (reference §3.7).

The request body is ConnectWise's ``ScheduleTask`` exactly as the live-proven client sends it: every
key present (unused ones ``null``), ``parameters`` a JSON **string** (double-encoded), and the schedule
``{"regularity": "Immediate", "category": "STZ", "scheduleType": "TIME"}`` for "run now". The spec lists
no enum values; ``RunNow`` (one client) is unproven on the public API and is not used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import Field

from connectors.connectwise_rmm.client.schemas.base import CWModel

#: Built-in "custom script" templates (public copies of ConnectWise's tasking service).
POWERSHELL_TEMPLATE_ID = "51a74346-e19b-11e7-9809-0800279505d9"
CMD_TEMPLATE_ID = "e3d2c26b-c5ba-49cf-a089-7637f6de949e"
BASH_TEMPLATE_ID = "37f7f19f-40e8-11e9-a643-e0d55e1ce78a"


class TargetType(StrEnum):
    """What ``targets`` holds: endpoint ids, or one company id."""

    MANAGED_ENDPOINT = "MANAGED_ENDPOINT"
    COMPANY = "COMPANY"


class Schedule(CWModel):
    """The ``schedule`` object. Defaults are the proven "run at next check-in" values."""

    regularity: str = "Immediate"
    category: str = "STZ"
    schedule_type: str = "TIME"
    repeat: dict[str, Any] | None = None
    start_date: str | None = None
    end_date: str | None = None
    end_date_type: str | None = None
    time_zone: str | None = None
    trigger_type: str | None = None
    time_frame_type: str | None = None
    start_time_frame: str | None = None
    end_time_frame: str | None = None


class ScheduleTaskRequest(CWModel):
    """Body of ``POST /api/platform/v2/automation/endpoints/schedule-tasks``."""

    template_id: str = Field(alias="templateID")
    template_type: str = "script"
    name: str
    description: str | None = None
    resources_type: str = "Both"
    target_type: TargetType = TargetType.MANAGED_ENDPOINT
    targets: list[str]
    parameters: str = Field(description="JSON-encoded parameter object (a string, as the API expects).")
    schedule: Schedule = Field(default_factory=Schedule)

    @classmethod
    def build(
        cls,
        *,
        template_id: str,
        name: str,
        targets: Sequence[str],
        parameters: Mapping[str, Any] | None = None,
        target_type: TargetType = TargetType.MANAGED_ENDPOINT,
        description: str | None = None,
        template_type: str = "script",
        resources_type: str = "Both",
        schedule: Schedule | None = None,
    ) -> ScheduleTaskRequest:
        """Build the request, encoding ``parameters`` to the compact JSON string the API expects.

        ``None`` parameters are sent as ``"{}"``: the field is a string the tasking service decodes,
        so an empty object is the safe "no parameters".
        """
        return cls(
            template_id=template_id,
            template_type=template_type,
            name=name,
            description=description,
            resources_type=resources_type,
            target_type=target_type,
            targets=list(targets),
            parameters=encode_parameters(parameters),
            schedule=schedule or Schedule(),
        )

    def to_wire(self) -> dict[str, Any]:
        """The JSON body, with every documented key present (``null`` where unused)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=False)


def encode_parameters(parameters: Mapping[str, Any] | None) -> str:
    """Encode script parameters as the compact JSON string ``parameters`` must be."""
    return json.dumps(dict(parameters or {}), separators=(",", ":"), ensure_ascii=False)


class ScheduleTaskResult(CWModel):
    """201 answer: ``{taskId, templateId, templateType, name, createdOn, modifiedOn, stateToBeSubmitted}``."""

    task_id: str
    template_id: str | None = None
    template_type: str | None = None
    name: str | None = None
    created_on: str | None = None
    modified_on: str | None = None
    state_to_be_submitted: str | None = None


class EndpointRunResult(CWModel):
    """One endpoint's outcome in a :class:`TaskRunReport` (output truncated for readers)."""

    endpoint_id: str
    status: str
    finished: bool
    output: str | None = None
    error: str | None = None
    executed_at: str | None = None


class TaskRunReport(CWModel):
    """Where a task run stands, per endpoint.

    ``finished`` is true once the instance reached a terminal state; ``timed_out`` when the wait gave up
    first (the task keeps running upstream). Endpoints that were targeted but have no result yet are
    listed with status ``pending``.
    """

    task_id: str
    instance_id: str | None = None
    overall_status: str | None = None
    finished: bool = False
    timed_out: bool = False
    device_count: int | None = None
    success_count: int | None = None
    failed_count: int | None = None
    endpoints: list[EndpointRunResult] = Field(default_factory=list)
