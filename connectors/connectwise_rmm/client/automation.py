"""Script and task calls (reference §3.6-3.7), mixed into :class:`~connectors.connectwise_rmm.client.ConnectWiseClient`.

Running a script: :meth:`AutomationMethods.schedule_task` returns a ``taskId``; the task's runs
(instances) appear under ``/v1/automation/tasks/{taskId}/instances/summary``; each run's per-endpoint
output is at ``/v2/automation/tasks/{taskId}/instances/{instanceId}/results``.
:meth:`AutomationMethods.wait_for_task_results` polls that chain to a terminal state within a bound.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.connectwise_rmm.client.errors import NotFoundError, ValidationError
from connectors.connectwise_rmm.client.ratelimit import SleepFunc
from connectors.connectwise_rmm.client.schemas import (
    InstanceSummary,
    InstanceSummaryList,
    Schedule,
    ScheduleTaskRequest,
    ScheduleTaskResult,
    Script,
    ShellScript,
    ShellScriptList,
    TargetType,
    TaskDefinition,
    TaskExecutionResult,
    TaskExecutionResultList,
    TaskRunReport,
    TaskSummary,
)
from connectors.connectwise_rmm.client.session import ConnectWiseSession, decode_json, parse_list, parse_model
from connectors.connectwise_rmm.client.task_runs import build_report, is_instance_finished, latest_instance

logger = logging.getLogger(__name__)

SCHEDULE_PATH = "/api/platform/v2/automation/endpoints/schedule-tasks"
INSTANCES_PATH = "/api/platform/v1/automation/tasks/{task}/instances/summary"
RESULTS_PATH = "/api/platform/v2/automation/tasks/{task}/instances/{instance}/results"


def format_timestamp(moment: datetime) -> str:
    """Format a ``From``/``To`` query value as the spec's example does: ``2020-10-04T00:25:42.168Z``."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _window(since: datetime | None, until: datetime | None) -> dict[str, str | int] | None:
    params: dict[str, str | int] = {}
    if since is not None:
        params["From"] = format_timestamp(since)
    if until is not None:
        params["To"] = format_timestamp(until)
    return params or None


class AutomationMethods:
    """Scripts, shell scripts, task definitions, scheduling and results."""

    _session: ConnectWiseSession
    _sleep: SleepFunc
    _clock: Callable[[], float]
    terminal_task_statuses: frozenset[str]

    async def list_scripts(self) -> list[Script]:
        """The script library. It says only whether a script ``hasParameters``, not which."""
        data = await self._session.get_json("/api/platform/v1/automation/scripts")
        return parse_list(Script, data, what="scripts", keys=("scripts", "data"))

    async def list_shell_scripts(self) -> list[ShellScript]:
        """Shell-script templates with their parameter JSON schema (``{"Templates": [...], "count": n}``)."""
        data = await self._session.get_json("/api/platform/v1/automation/shellScripts")
        if isinstance(data, list):
            return parse_list(ShellScript, data, what="shell scripts")
        return parse_model(ShellScriptList, data or {}, what="shell scripts").templates

    async def get_shell_script(self, template_id: str) -> ShellScript:
        """One shell-script template, with its decoded parameter schema.

        The API has no single-script endpoint (reference §3.6), so this filters the full listing.

        Raises:
            NotFoundError: No template with that id.
        """
        for script in await self.list_shell_scripts():
            if script.template_id == template_id:
                return script
        raise NotFoundError(f"no shell script with template id {template_id}", status=404)

    async def list_tasks(self) -> list[TaskDefinition]:
        """Task definitions (the spec gives them no id)."""
        data = await self._session.get_json("/api/platform/v1/automation/tasks")
        return parse_list(TaskDefinition, data, what="tasks", keys=("tasks", "data"))

    async def get_tasks_summary(
        self, endpoint_id: str | None = None, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[TaskSummary]:
        """Task run summaries: tenant-wide (``From``/``To`` window), or for one endpoint."""
        if endpoint_id is not None:
            data = await self._session.get_json(f"/api/platform/v2/automation/endpoints/{endpoint_id}/tasks/summary")
        else:
            data = await self._session.get_json(
                "/api/platform/v1/automation/tasks/summary", params=_window(since, until)
            )
        return parse_list(TaskSummary, data, what="task summaries", keys=("tasks", "data"))

    async def schedule_task(
        self,
        template_id: str,
        *,
        name: str,
        endpoint_ids: Sequence[str] = (),
        company_id: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        description: str | None = None,
        template_type: str = "script",
        schedule: Schedule | None = None,
    ) -> ScheduleTaskResult:
        """Schedule a script on endpoints, or on a whole company, at their next check-in.

        The body is the documented ``ScheduleTask`` (see :class:`ScheduleTaskRequest`): ``parameters`` as a
        JSON string, ``resourcesType: "Both"``, and the live-proven ``Immediate``/``STZ``/``TIME`` schedule.
        Every call creates a real task in the ConnectWise console. The request is not replayed after a
        read time-out (it may have been accepted); 429/503 answers are retried as they mean "not processed".

        Args:
            template_id: A shell-script ``templateId`` (or, unproven, a library script id).
            name: Task name shown in the console.
            endpoint_ids: Target endpoints (``targetType: MANAGED_ENDPOINT``).
            company_id: Target every endpoint of this company instead (``targetType: COMPANY``).
            parameters: The script's parameters; encoded to the JSON string the API expects.
            description: Optional task description.
            template_type: ``script`` (the only documented value).
            schedule: A different schedule; defaults to "run now".

        Raises:
            ValidationError: Neither or both of ``endpoint_ids`` and ``company_id``, or ConnectWise refused.
        """
        if bool(endpoint_ids) == (company_id is not None):
            raise ValidationError("give either endpoint_ids or company_id (exactly one) as the task's target")
        request = ScheduleTaskRequest.build(
            template_id=template_id,
            name=name,
            targets=list(endpoint_ids) if endpoint_ids else [str(company_id)],
            target_type=TargetType.MANAGED_ENDPOINT if endpoint_ids else TargetType.COMPANY,
            parameters=parameters,
            description=description,
            template_type=template_type,
            schedule=schedule,
        )
        response = await self._session.request("POST", SCHEDULE_PATH, body=request.to_wire(), idempotent=False)
        result = parse_model(ScheduleTaskResult, decode_json(response), what="schedule-task result")
        logger.info("scheduled ConnectWise task %s (%s) on %d target(s)", result.task_id, name, len(request.targets))
        return result

    async def list_task_instances(
        self, task_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[InstanceSummary]:
        """The runs (instances) of a task, with status and per-outcome counts."""
        data = await self._session.get_json(INSTANCES_PATH.format(task=task_id), params=_window(since, until))
        if isinstance(data, list):
            return parse_list(InstanceSummary, data, what="task instances")
        return parse_model(InstanceSummaryList, data or {}, what="task instances").results

    async def get_instance_results(self, task_id: str, instance_id: str) -> list[TaskExecutionResult]:
        """Per-endpoint output of one run."""
        data = await self._session.get_json(RESULTS_PATH.format(task=task_id, instance=instance_id))
        if isinstance(data, list):
            return parse_list(TaskExecutionResult, data, what="task results")
        return parse_model(TaskExecutionResultList, data or {}, what="task results").result

    async def get_task_results(
        self, task_id: str, instance_id: str | None = None, *, targets: Sequence[str] = ()
    ) -> TaskRunReport:
        """Report one run of a task per endpoint; the latest run when ``instance_id`` is not given.

        Raises:
            NotFoundError: The task has no run (yet), or no run with that id.
        """
        instance = latest_instance(await self.list_task_instances(task_id), instance_id)
        if instance is None:
            raise NotFoundError(
                f"task {task_id} has no run{' ' + instance_id if instance_id else ''} yet; try again shortly",
                status=404,
            )
        finished = is_instance_finished(instance, self.terminal_task_statuses)
        results = await self.get_instance_results(task_id, instance.id)
        return build_report(
            task_id=task_id,
            instance=instance,
            results=results,
            targets=targets,
            terminal_statuses=self.terminal_task_statuses,
            finished=finished,
        )

    async def wait_for_task_results(
        self,
        task_id: str,
        *,
        targets: Sequence[str] = (),
        instance_id: str | None = None,
        timeout: float = 300.0,  # noqa: ASYNC109 - bounds polling of a remote run, not a local await
        poll_interval: float = 10.0,
    ) -> TaskRunReport:
        """Poll a task until its run is finished or ``timeout`` seconds pass, then report per endpoint.

        A run not created yet (404 or no instances) and results not written yet (404) count as "still
        going". On time-out the report has ``timed_out=True`` with whatever results exist; the task keeps
        running in ConnectWise.

        Args:
            task_id: From :meth:`schedule_task`.
            targets: Endpoint ids the task was sent to; those without a result are listed as pending.
            instance_id: A specific run; defaults to the latest.
            timeout: Longest wait, in seconds.
            poll_interval: Seconds between polls.
        """
        if poll_interval <= 0 or timeout < 0:
            raise ValueError("poll_interval must be positive and timeout not negative")
        deadline = self._clock() + timeout
        polls = 0
        while True:
            polls += 1
            instance = latest_instance(await self._instances_so_far(task_id), instance_id)
            finished = instance is not None and is_instance_finished(instance, self.terminal_task_statuses)
            remaining = deadline - self._clock()
            if finished or remaining <= 0:
                results = await self._results_so_far(task_id, instance.id) if instance is not None else []
                logger.info("task %s: %s after %d poll(s)", task_id, "finished" if finished else "timed out", polls)
                return build_report(
                    task_id=task_id,
                    instance=instance,
                    results=results,
                    targets=targets,
                    terminal_statuses=self.terminal_task_statuses,
                    finished=finished,
                    timed_out=not finished,
                )
            await self._sleep(min(poll_interval, remaining))

    async def _instances_so_far(self, task_id: str) -> list[InstanceSummary]:
        try:
            return await self.list_task_instances(task_id)
        except NotFoundError:
            return []

    async def _results_so_far(self, task_id: str, instance_id: str) -> list[TaskExecutionResult]:
        try:
            return await self.get_instance_results(task_id, instance_id)
        except NotFoundError:
            return []
