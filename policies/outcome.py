"""The typed answer of the pipeline to every invocation, whoever the caller is."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class InvocationStatus(StrEnum):
    """How an invocation ended (``pending_approval`` ends later, in the approval)."""

    DONE = "done"
    PENDING_APPROVAL = "pending_approval"
    REFUSED = "refused"
    FAILED = "failed"


class Outcome(BaseModel):
    """The pipeline's answer: a result, a pending approval id, a refusal or a failure, with a message.

    ``value`` is the tool's typed result (an instance of the tool's ``result_type``, checked by the
    gate) and :meth:`result_as` hands it out typed; ``result`` is the same value as JSON data, what
    the REST API answers and an executed approval stores.
    """

    status: InvocationStatus
    tool: str
    message: str = ""
    result: Any = Field(default=None, description="the tool's result; its JSON schema is the tool's output_schema")
    value: Any = Field(default=None, exclude=True, repr=False)
    approval_id: int | None = None
    expires_at: datetime | None = None
    policy: str | None = None
    error_status: int | None = Field(default=None, exclude=True, description="HTTP status of a failed run")
    retry_after: int | None = Field(default=None, exclude=True, description="Retry-After seconds of a failed run")

    def result_as(self, kind: type[T]) -> T | None:
        """The typed result as ``kind`` when the run is done, None when it is not (pending, refused, failed).

        Raises:
            TypeError: the tool's result is not a ``kind`` (the caller asked the wrong tool).
        """
        if self.status is not InvocationStatus.DONE:
            return None
        if not isinstance(self.value, kind):
            raise TypeError(f"{self.tool} returned {type(self.value).__name__}, not {kind.__name__}")
        return self.value
