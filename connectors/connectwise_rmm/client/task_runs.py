"""Deciding when a task run is over and reporting it per endpoint (reference §3.7).

ConnectWise documents no values for ``OverallStatus`` or ``completionStatus``. A run counts as finished
when its status is in a configurable terminal set (default: the set the live-tested client guesses), or
when its counters show every device accounted for and none running, waiting or scheduled -- whichever
comes first, so an unexpected status string cannot make a wait hang until its time-out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from connectors.connectwise_rmm.client.schemas.automation import InstanceSummary, TaskExecutionResult
from connectors.connectwise_rmm.client.schemas.base import truncate
from connectors.connectwise_rmm.client.schemas.tasks import EndpointRunResult, TaskRunReport

DEFAULT_TERMINAL_STATUSES: frozenset[str] = frozenset(
    {
        "COMPLETED",
        "COMPLETE",
        "SUCCESS",
        "SUCCEEDED",
        "FAILED",
        "FAILURE",
        "ERROR",
        "CANCELLED",
        "CANCELED",
        "TIMEOUT",
    }
)

#: Output kept per endpoint in a report; the rest is cut with a marker.
DEFAULT_OUTPUT_CHARS = 4000


def normalise_status(status: str | None) -> str:
    """Upper-case a status and fold separators, so ``"Completed"``/``"completed "`` compare equal."""
    return (status or "").strip().upper().replace(" ", "_").replace("-", "_")


def is_instance_finished(instance: InstanceSummary, terminal_statuses: frozenset[str]) -> bool:
    """True when the run reached a terminal status, or its counters show nothing left to do."""
    if normalise_status(instance.overall_status) in terminal_statuses:
        return True
    devices = instance.device_count or 0
    if devices <= 0:
        return False
    outstanding = (instance.running_count or 0) + (instance.waiting_count or 0) + (instance.scheduled_count or 0)
    done = (
        (instance.success_count or 0)
        + (instance.failed_count or 0)
        + (instance.canceled_count or 0)
        + (instance.disabled_count or 0)
    )
    return outstanding == 0 and done >= devices


def latest_instance(instances: Sequence[InstanceSummary], instance_id: str | None = None) -> InstanceSummary | None:
    """The instance with ``instance_id``, else the most recently executed (or created) one."""
    if instance_id is not None:
        return next((i for i in instances if i.id == instance_id), None)
    if not instances:
        return None
    return max(enumerate(instances), key=lambda pair: (pair[1].executed_on or pair[1].created_on or "", pair[0]))[1]


def build_report(
    *,
    task_id: str,
    instance: InstanceSummary | None,
    results: Iterable[TaskExecutionResult],
    targets: Sequence[str] = (),
    terminal_statuses: frozenset[str] = DEFAULT_TERMINAL_STATUSES,
    finished: bool,
    timed_out: bool = False,
    output_chars: int = DEFAULT_OUTPUT_CHARS,
) -> TaskRunReport:
    """Assemble a :class:`TaskRunReport`: one row per endpoint with a result, plus targets without one.

    Targets with no result yet are ``pending`` while the run is going, ``no_result`` once it finished.
    """
    rows: list[EndpointRunResult] = []
    seen: set[str] = set()
    for result in results:
        endpoint = result.endpoint_id or "unknown"
        seen.add(endpoint)
        status = result.completion_status or "unknown"
        rows.append(
            EndpointRunResult(
                endpoint_id=endpoint,
                status=status,
                finished=finished or normalise_status(status) in terminal_statuses,
                output=truncate(result.result_details, output_chars) or None,
                error=truncate(result.error_details, output_chars) or None,
                executed_at=result.execution_time or result.created_on,
            )
        )
    for target in targets:
        if target not in seen:
            rows.append(
                EndpointRunResult(endpoint_id=target, status="no_result" if finished else "pending", finished=finished)
            )
    return TaskRunReport(
        task_id=task_id,
        instance_id=instance.id if instance else None,
        overall_status=instance.overall_status if instance else None,
        finished=finished,
        timed_out=timed_out,
        device_count=instance.device_count if instance else None,
        success_count=instance.success_count if instance else None,
        failed_count=instance.failed_count if instance else None,
        endpoints=rows,
    )
