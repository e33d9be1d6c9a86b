"""Scripts, shell-script templates, task definitions, task summaries and results (reference §3.6-3.7).

Key casing differs per call: summaries mix ``taskID``/``TemplateType``, instance summaries are
PascalCase, results use ``executiontime``. Each such key has an explicit alias here.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import AliasChoices, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_pascal

from connectors.connectwise_rmm.client.schemas.base import CWModel


class Script(CWModel):
    """A library script (``GET /api/platform/v1/automation/scripts``). Its parameters are not listed."""

    id: str
    name: str | None = None
    description: str | None = None
    script_category: str | None = None
    has_parameters: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ShellScript(CWModel):
    """A shell-script template (``GET /api/platform/v1/automation/shellScripts``).

    ``jsonSchema`` arrives as a JSON *string*; it is decoded into :attr:`parameters_schema`. A string
    that is not a JSON object leaves ``parameters_schema`` empty and says why in ``parameters_schema_error``
    (one broken template must not break the listing).
    """

    template_id: str = Field(alias="templateId", validation_alias=AliasChoices("templateId", "templateID", "id"))
    name: str | None = None
    description: str | None = None
    categories: list[str] = Field(default_factory=list)
    executor_engine: str | None = None
    expected_execution_time_sec: int | None = None
    json_schema: str | None = None
    operating_system: dict[str, list[str]] = Field(default_factory=dict)
    has_parameters: bool | None = None
    state: str | None = None
    created_on: str | None = None
    updated_on: str | None = None
    parameters_schema: dict[str, Any] | None = None
    parameters_schema_error: str | None = None

    @model_validator(mode="after")
    def _decode_schema(self) -> ShellScript:
        if self.parameters_schema is None and self.json_schema and self.json_schema.strip():
            try:
                decoded = json.loads(self.json_schema)
            except ValueError as exc:
                self.parameters_schema_error = f"jsonSchema is not valid JSON: {exc}"
            else:
                if isinstance(decoded, dict):
                    self.parameters_schema = decoded
                else:
                    self.parameters_schema_error = f"jsonSchema is a JSON {type(decoded).__name__}, not an object"
        return self

    def summary(self) -> ShellScriptSummary:
        """Name, description and parameter schema, without timestamps and the raw schema string."""
        return ShellScriptSummary(
            template_id=self.template_id,
            name=self.name,
            description=self.description,
            categories=self.categories,
            operating_systems=sorted(self.operating_system),
            expected_execution_time_sec=self.expected_execution_time_sec,
            has_parameters=self.has_parameters,
            state=self.state,
            parameters_schema=self.parameters_schema,
        )


class ShellScriptSummary(CWModel):
    template_id: str
    name: str | None = None
    description: str | None = None
    categories: list[str] = Field(default_factory=list)
    operating_systems: list[str] = Field(default_factory=list)
    expected_execution_time_sec: int | None = None
    has_parameters: bool | None = None
    state: str | None = None
    parameters_schema: dict[str, Any] | None = None


class ShellScriptList(CWModel):
    """``{"Templates": [...], "count": n}``."""

    templates: list[ShellScript] = Field(default_factory=list, alias="Templates")
    count: int | None = None


class TaskDefinition(CWModel):
    """A task definition (``GET /api/platform/v1/automation/tasks``); the spec gives it no id."""

    name: str | None = None
    description: str | None = None
    type: str | None = None
    categories: list[str] = Field(default_factory=list)
    created_at: str | None = None
    updated_at: str | None = None
    user_parameters: str | None = None
    json_schema: str | None = Field(default=None, alias="JSONSchema")
    operating_system: dict[str, list[str]] = Field(default_factory=dict)
    executor_engine: str | None = None


class ExecutionStates(CWModel):
    device_count: int | None = None
    success_count: int | None = None
    failure_count: int | None = None


class TaskSummary(CWModel):
    """A task run summary, tenant-wide (``/v1/automation/tasks/summary``) or per endpoint (v2)."""

    task_id: str | None = Field(default=None, alias="taskID", validation_alias=AliasChoices("taskID", "taskId"))
    name: str | None = None
    description: str | None = None
    created_on: str | None = None
    executed_on: str | None = None
    modified_on: str | None = None
    next_schedule: str | None = None
    regularity: str | None = None
    state: str | None = None
    execution_status: str | None = None
    schedule_type: str | None = None
    template_type: str | None = Field(default=None, alias="TemplateType")
    template_id: str | None = Field(default=None, alias="TemplateID")
    task_instance_id: str | None = Field(
        default=None, alias="taskInstanceId", validation_alias=AliasChoices("taskInstanceId", "taskInstanceID")
    )
    endpoint_id: str | None = Field(default=None, alias="EndpointID")
    triggered_by: str | None = None
    time_zone: str | None = Field(default=None, alias="TimeZone")
    can_be_cancelled: bool | None = None
    can_be_postponed: bool | None = None
    is_deactivated: bool | None = Field(default=None, alias="is_deactivated")
    execution_states: ExecutionStates | None = None
    endpoint_statuses: dict[str, str] = Field(default_factory=dict)


class InstanceSummary(CWModel):
    """One run (instance) of a task (``/v1/automation/tasks/{taskId}/instances/summary``)."""

    model_config = ConfigDict(alias_generator=to_pascal)

    task_id: str | None = Field(default=None, alias="TaskID")
    id: str
    name: str | None = None
    created_on: str | None = None
    executed_on: str | None = None
    next_schedule: str | None = None
    regularity: str | None = None
    overall_status: str | None = None
    device_count: int | None = None
    success_count: int | None = None
    failed_count: int | None = None
    postponed_count: int | None = None
    disabled_count: int | None = None
    canceled_count: int | None = None
    scheduled_count: int | None = None
    waiting_count: int | None = None
    running_count: int | None = None


class InstanceSummaryList(CWModel):
    """``{"Results": [...], "Count": n}``."""

    results: list[InstanceSummary] = Field(default_factory=list, alias="Results")
    count: int | None = Field(default=None, alias="Count")


class TaskExecutionResult(CWModel):
    """Output of one endpoint for one task instance."""

    endpoint_id: str | None = None
    completion_status: str | None = None
    result_details: str | None = None
    error_details: str | None = None
    execution_time: str | None = Field(default=None, alias="executiontime")
    created_on: str | None = None
    task_id: str | None = None
    task_instance_id: str | None = None


class TaskExecutionResultList(CWModel):
    """``{"Result": [...], "Count": n}``."""

    result: list[TaskExecutionResult] = Field(default_factory=list, alias="Result")
    count: int | None = Field(default=None, alias="Count")
