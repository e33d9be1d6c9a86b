"""The typed answer of the pipeline to every invocation, whoever the caller is."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class InvocationStatus(StrEnum):
    """How an invocation ended (``pending_approval`` ends later, in the approval)."""

    DONE = "done"
    PENDING_APPROVAL = "pending_approval"
    REFUSED = "refused"
    FAILED = "failed"


class Outcome(BaseModel):
    """The pipeline's answer: a result, a pending approval id, a refusal or a failure, with a message."""

    status: InvocationStatus
    tool: str
    message: str = ""
    result: Any = None
    approval_id: int | None = None
    expires_at: datetime | None = None
    policy: str | None = None
    error_status: int | None = Field(default=None, exclude=True, description="HTTP status of a failed run")
    retry_after: int | None = Field(default=None, exclude=True, description="Retry-After seconds of a failed run")
