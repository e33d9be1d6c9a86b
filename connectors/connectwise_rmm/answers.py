"""How the connector's tools answer: upstream failures as tool errors, task runs as per-endpoint reports."""

from __future__ import annotations

from typing import Any

from connectors.connectwise_rmm.client.errors import ConnectWiseError, NotFoundError, rest_status
from connectors.connectwise_rmm.client.schemas import TaskRunReport
from hub.core.errors import ToolError, ToolNotFoundError


class UpstreamToolError(ToolError):
    """A ConnectWise failure, answered to REST clients with the status it maps to (see ``errors``)."""

    def __init__(self, message: str, *, status_code: int, retry_after: int | None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


def tool_error(exc: ConnectWiseError) -> ToolError:
    """An upstream failure as a tool error carrying ConnectWise's status, message and what to do next.

    The message is the client's rendering (``ConnectWise RMM returned HTTP 423: ... . <hint>``), so a
    locked key, a missing scope or a wrong id reads the same in the UI, the API and the assistant; the
    HTTP status is :func:`~connectors.connectwise_rmm.client.errors.rest_status` (503 + ``Retry-After``, 502...).
    """
    if isinstance(exc, NotFoundError):
        return ToolNotFoundError(str(exc))
    status, retry_after = rest_status(exc)
    return UpstreamToolError(str(exc), status_code=status, retry_after=retry_after)


#: What the read tools answer: the trimmed summary forms of ConnectWise's payloads, as a JSON object.
JsonObject = dict[str, Any]


class TaskAnswer(TaskRunReport):
    """A task run as ``cw-rmm-run-task`` and the ``cw-rmm-script-*`` tools answer it."""

    script: str
    template_id: str
    target: dict[str, str | list[str]]
    state: str


def task_answer(
    script: str, template_id: str, endpoints: list[str], company: str | None, report: TaskRunReport
) -> TaskAnswer:
    """A run report as tools return it: what ran where, its state, and one row per endpoint."""
    if report.finished:
        state = "finished"
    elif report.timed_out:
        state = "still running (stopped waiting; cw-rmm-get-task-results with the task_id reports it later)"
    else:
        state = "scheduled (runs at the endpoints' next check-in; cw-rmm-get-task-results reports it)"
    return TaskAnswer(
        script=script,
        template_id=template_id,
        target={"company_id": company} if company else {"endpoint_ids": endpoints},
        state=state,
        **dict(report),
    )
