"""Wire models of the script library: scripts in and out, run requests and run history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.protocol import MAX_SCRIPT_BYTES, MAX_TIMEOUT_SECONDS, CommandStatus, Shell
from hub.core.bounds import BoundedInt, Id
from native_rmm.devices.targets import MAX_TARGETS
from native_rmm.models.scripts import SLUG_MAX, Script, ScriptOsType

Name = Annotated[str, Field(min_length=1, max_length=200)]
Slug = Annotated[str, Field(pattern=rf"^[a-z0-9](?:[a-z0-9-]{{0,{SLUG_MAX - 2}}}[a-z0-9])?$")]
Timeout = Annotated[int, Field(ge=1, le=MAX_TIMEOUT_SECONDS)]
DeviceIds = Annotated[list[Id], Field(min_length=1, max_length=MAX_TARGETS)]


def _body_fits(body: str | None) -> str | None:
    if body is not None:
        if not body.strip():
            raise ValueError("the script body is empty")
        if len(body.encode()) > MAX_SCRIPT_BYTES:
            raise ValueError(f"the script body is larger than {MAX_SCRIPT_BYTES} bytes")
    return body


class ScriptIn(BaseModel):
    """Body of ``POST /api/v1/rmm/scripts``. ``slug`` defaults to one derived from the name."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    slug: Slug | None = None
    description: str = Field(default="", max_length=4000)
    os_type: ScriptOsType
    shell: Shell
    body: str
    parameters: dict[str, Any] = Field(default_factory=dict, description="JSON schema of the parameters")
    timeout_seconds: Timeout = 300
    enabled: bool = True

    _body = field_validator("body")(_body_fits)


class ScriptUpdate(BaseModel):
    """Body of ``PUT /api/v1/rmm/scripts/{id}``: only the fields sent change (the slug never does)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: str | None = Field(default=None, max_length=4000)
    os_type: ScriptOsType | None = None
    shell: Shell | None = None
    body: str | None = None
    parameters: dict[str, Any] | None = None
    timeout_seconds: Timeout | None = None
    enabled: bool | None = None

    _body = field_validator("body")(_body_fits)


class ScriptSummary(BaseModel):
    """A script without its body (lists, tool results)."""

    id: int
    name: str
    slug: str
    tool: str
    description: str
    os_type: ScriptOsType
    shell: Shell
    parameters: dict[str, Any]
    timeout_seconds: int
    enabled: bool
    is_builtin: bool
    revision: int

    @classmethod
    def of(cls, script: Script) -> ScriptSummary:
        """Build from the ORM row."""
        return cls(
            id=script.id, name=script.name, slug=script.slug, tool=script.tool_name, description=script.description,
            os_type=script.os_type, shell=script.shell, parameters=script.parameters,
            timeout_seconds=script.timeout_seconds, enabled=script.enabled, is_builtin=script.is_builtin,
            revision=script.revision,
        )  # fmt: skip


class ScriptOut(ScriptSummary):
    """A script with its body and history of changes."""

    body: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, script: Script) -> ScriptOut:
        """Build from the ORM row."""
        return cls(
            **ScriptSummary.of(script).model_dump(), body=script.body, created_at=script.created_at,
            created_by=script.created_by_label, updated_at=script.updated_at, updated_by=script.updated_by_label,
        )  # fmt: skip


class RunScriptRequest(BaseModel):
    """Body of ``POST /api/v1/rmm/scripts/{id}/run``."""

    model_config = ConfigDict(extra="forbid")

    device_ids: DeviceIds
    params: dict[str, str | BoundedInt | float | bool] = Field(default_factory=dict)
    reason: str = Field(default="", max_length=2000)


class QueuedRun(BaseModel):
    """One command queued by a script run."""

    command_id: int
    device_id: int
    status: CommandStatus


class RunResult(BaseModel):
    """The result of running a script on devices."""

    script_id: int
    script: str
    commands: list[QueuedRun]


class ScriptRunOut(BaseModel):
    """One run of a script on a device (a command with ``script_id``), with its output."""

    command_id: int
    device_id: int
    script_id: int
    script_name: str
    status: CommandStatus
    exit_code: int | None
    stdout: str
    stderr: str
    truncated: bool
    error: str | None
    env: dict[str, str]
    created_by: str
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
