"""Scripts, schedule-task payload, task results and polling (reference §3.6-3.7)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
import respx
from cw_fakes import SleepRecorder

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.errors import AuthenticationError, NotFoundError, ValidationError
from connectors.connectwise_rmm.client.schemas import POWERSHELL_TEMPLATE_ID

SCHEDULE = "/api/platform/v2/automation/endpoints/schedule-tasks"
TASK = "7d1c5f0e-0000-4000-8000-000000000001"
INSTANCE = "9e2d6a1f-0000-4000-8000-000000000002"
INSTANCES = f"/api/platform/v1/automation/tasks/{TASK}/instances/summary"
RESULTS = f"/api/platform/v2/automation/tasks/{TASK}/instances/{INSTANCE}/results"
E1 = "f4b2990c-075a-4132-967c-2fa3431e89df"
E2 = "0a1b2c3d-075a-4132-967c-2fa3431e89df"

SCHEDULED = {
    "taskId": TASK,
    "templateId": POWERSHELL_TEMPLATE_ID,
    "templateType": "script",
    "name": "Disk cleanup",
    "createdOn": "2025-01-01T00:00:00Z",
    "modifiedOn": "2025-01-01T00:00:00Z",
    "stateToBeSubmitted": "Active",
}


def _instance(status: str, **counts: int) -> dict[str, object]:
    return {"TaskID": TASK, "Id": INSTANCE, "Name": "Disk cleanup", "OverallStatus": status, **counts}


async def test_schedule_task_sends_the_documented_payload(client: ConnectWiseClient, router: respx.Router) -> None:
    route = router.post(SCHEDULE).mock(return_value=httpx.Response(201, json=SCHEDULED))

    result = await client.schedule_task(
        POWERSHELL_TEMPLATE_ID,
        name="ImmyBot RunScript",
        endpoint_ids=[E1],
        parameters={"body": "<powershell code>", "expectedExecutionTimeSec": 600},
    )

    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "templateID": "51a74346-e19b-11e7-9809-0800279505d9",
        "templateType": "script",
        "name": "ImmyBot RunScript",
        "description": None,
        "resourcesType": "Both",
        "targetType": "MANAGED_ENDPOINT",
        "targets": [E1],
        "parameters": '{"body":"<powershell code>","expectedExecutionTimeSec":600}',
        "schedule": {
            "regularity": "Immediate",
            "category": "STZ",
            "scheduleType": "TIME",
            "repeat": None,
            "startDate": None,
            "endDate": None,
            "endDateType": None,
            "timeZone": None,
            "triggerType": None,
            "timeFrameType": None,
            "startTimeFrame": None,
            "endTimeFrame": None,
        },
    }
    # parameters is a JSON *string* holding the object (double-encoded), exactly as the API expects.
    assert json.loads(json.loads(request.content)["parameters"]) == {
        "body": "<powershell code>",
        "expectedExecutionTimeSec": 600,
    }
    assert result.task_id == TASK
    assert result.state_to_be_submitted == "Active"


async def test_schedule_task_on_a_company(client: ConnectWiseClient, router: respx.Router) -> None:
    route = router.post(SCHEDULE).mock(return_value=httpx.Response(201, json=SCHEDULED))

    await client.schedule_task("tpl-1", name="Patch all", company_id="company-1", description="monthly")

    body = json.loads(route.calls.last.request.content)
    assert body["targetType"] == "COMPANY"
    assert body["targets"] == ["company-1"]
    assert body["parameters"] == "{}"
    assert body["description"] == "monthly"


@pytest.mark.parametrize(
    "targets",
    [{}, {"endpoint_ids": [E1], "company_id": "c1"}],
    ids=["none", "both"],
)
async def test_schedule_task_needs_exactly_one_kind_of_target(
    client: ConnectWiseClient, router: respx.Router, targets: dict[str, object]
) -> None:
    route = router.post(SCHEDULE).mock(return_value=httpx.Response(201, json=SCHEDULED))

    with pytest.raises(ValidationError, match="exactly one"):
        await client.schedule_task("tpl", name="n", **targets)  # type: ignore[arg-type]

    assert route.call_count == 0


async def test_schedule_task_validation_error_keeps_upstream_message(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    router.post(SCHEDULE).mock(
        return_value=httpx.Response(400, json={"message": "invalid templateID", "code": "ValidationFailed"})
    )

    with pytest.raises(ValidationError) as caught:
        await client.schedule_task("bad", name="n", endpoint_ids=[E1])

    assert (caught.value.status, caught.value.message, caught.value.code) == (
        400,
        "invalid templateID",
        "ValidationFailed",
    )


async def test_wait_for_task_results_polls_to_a_terminal_state(
    client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder
) -> None:
    instances = router.get(INSTANCES).mock(
        side_effect=[
            httpx.Response(404, json={"message": "Not Found", "code": "404"}),  # run not created yet
            httpx.Response(200, json={"Results": [_instance("Running", DeviceCount=2, RunningCount=2)], "Count": 1}),
            httpx.Response(
                200,
                json={"Results": [_instance("Completed", DeviceCount=2, SuccessCount=1, FailedCount=1)], "Count": 1},
            ),
        ]
    )
    router.get(RESULTS).mock(
        return_value=httpx.Response(
            200,
            json={
                "Result": [
                    {
                        "endpointId": E1,
                        "completionStatus": "Success",
                        "resultDetails": "freed 2 GB",
                        "errorDetails": "",
                    },
                    {"endpointId": E2, "completionStatus": "Failed", "resultDetails": "", "errorDetails": "denied"},
                ],
                "Count": 2,
            },
        )
    )

    report = await client.wait_for_task_results(TASK, targets=[E1, E2], timeout=120, poll_interval=5)

    assert instances.call_count == 3
    assert sleeper.calls == [5, 5]
    assert report.finished and not report.timed_out
    assert report.instance_id == INSTANCE
    assert report.overall_status == "Completed"
    assert [(e.endpoint_id, e.status, e.finished, e.output, e.error) for e in report.endpoints] == [
        (E1, "Success", True, "freed 2 GB", None),
        (E2, "Failed", True, None, "denied"),
    ]


async def test_unknown_status_strings_still_finish_by_the_counters(
    client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder
) -> None:
    router.get(INSTANCES).mock(
        return_value=httpx.Response(200, json={"Results": [_instance("Wrapped-Up", DeviceCount=1, SuccessCount=1)]})
    )
    router.get(RESULTS).mock(return_value=httpx.Response(200, json={"Result": [], "Count": 0}))

    report = await client.wait_for_task_results(TASK, targets=[E1], timeout=60, poll_interval=5)

    assert report.finished
    assert sleeper.calls == []
    assert [(e.endpoint_id, e.status) for e in report.endpoints] == [(E1, "no_result")]


async def test_wait_for_task_results_gives_up_at_the_timeout(
    client: ConnectWiseClient, router: respx.Router, sleeper: SleepRecorder
) -> None:
    instances = router.get(INSTANCES).mock(
        return_value=httpx.Response(200, json={"Results": [_instance("Running", DeviceCount=2, RunningCount=1)]})
    )
    router.get(RESULTS).mock(
        return_value=httpx.Response(
            200, json={"Result": [{"endpointId": E1, "completionStatus": "Success", "resultDetails": "ok"}]}
        )
    )

    report = await client.wait_for_task_results(TASK, targets=[E1, E2], timeout=25, poll_interval=10)

    assert report.timed_out and not report.finished
    assert sleeper.calls == [10, 10, 5]
    assert sum(sleeper.calls) == 25
    assert instances.call_count == 4
    assert [(e.endpoint_id, e.status, e.finished) for e in report.endpoints] == [
        (E1, "Success", True),
        (E2, "pending", False),
    ]


async def test_custom_terminal_statuses(
    make_client: Callable[..., ConnectWiseClient], token_route: respx.Route, router: respx.Router
) -> None:
    client = make_client(terminal_task_statuses=frozenset({"Done"}))
    router.get(INSTANCES).mock(return_value=httpx.Response(200, json={"Results": [_instance("done")]}))
    router.get(RESULTS).mock(return_value=httpx.Response(200, json={"Result": []}))

    report = await client.wait_for_task_results(TASK, timeout=0, poll_interval=1)

    assert report.finished


async def test_get_task_results_picks_the_latest_run_and_truncates_output(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    older = {**_instance("Completed"), "Id": "old", "ExecutedOn": "2025-01-01T00:00:00Z"}
    newer = {**_instance("Completed"), "ExecutedOn": "2025-01-02T00:00:00Z"}
    router.get(INSTANCES).mock(return_value=httpx.Response(200, json={"Results": [newer, older], "Count": 2}))
    router.get(RESULTS).mock(
        return_value=httpx.Response(
            200, json={"Result": [{"endpointId": E1, "completionStatus": "Success", "resultDetails": "x" * 50_000}]}
        )
    )

    report = await client.get_task_results(TASK)

    assert report.instance_id == INSTANCE
    output = report.endpoints[0].output
    assert output is not None and len(output) < 4100 and output.endswith("46000 more characters]")


async def test_get_task_results_without_runs_is_not_found(client: ConnectWiseClient, router: respx.Router) -> None:
    router.get(INSTANCES).mock(return_value=httpx.Response(200, json={"Results": [], "Count": 0}))

    with pytest.raises(NotFoundError, match="no run"):
        await client.get_task_results(TASK)


async def test_tasks_summary_tenant_window_and_per_endpoint(client: ConnectWiseClient, router: respx.Router) -> None:
    tenant = router.get("/api/platform/v1/automation/tasks/summary").mock(
        return_value=httpx.Response(
            200,
            json=[
                {
                    "taskID": TASK,
                    "name": "Disk cleanup",
                    "TemplateType": "script",
                    "taskInstanceId": INSTANCE,
                    "executionStates": {"deviceCount": 2, "successCount": 1, "failureCount": 1},
                    "endpointStatuses": {E1: "Success"},
                }
            ],
        )
    )
    endpoint = router.get(f"/api/platform/v2/automation/endpoints/{E1}/tasks/summary").mock(
        return_value=httpx.Response(200, json=[{"taskID": TASK, "EndpointID": E1, "taskInstanceID": INSTANCE}])
    )

    summaries = await client.get_tasks_summary(since=datetime(2020, 10, 4, 0, 25, 42, 168000, tzinfo=UTC))
    mine = await client.get_tasks_summary(E1)

    assert tenant.calls.last.request.url.params["From"] == "2020-10-04T00:25:42.168Z"
    assert summaries[0].execution_states is not None and summaries[0].execution_states.failure_count == 1
    assert summaries[0].template_type == "script"
    assert endpoint.call_count == 1
    assert (mine[0].endpoint_id, mine[0].task_instance_id) == (E1, INSTANCE)


async def test_scripts_and_shell_scripts_with_their_parameter_schema(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    router.get("/api/platform/v1/automation/scripts").mock(
        return_value=httpx.Response(
            200, json=[{"id": "s1", "name": "Clear temp files", "scriptCategory": "Maintenance", "hasParameters": True}]
        )
    )
    schema = {"type": "object", "properties": {"days": {"type": "integer"}}, "required": ["days"]}
    router.get("/api/platform/v1/automation/shellScripts").mock(
        return_value=httpx.Response(
            200,
            json={
                "Templates": [
                    {
                        "templateId": "t1",
                        "name": "Disk cleanup",
                        "jsonSchema": json.dumps(schema),
                        "hasParameters": True,
                    },
                    {"templateId": "t2", "name": "Broken", "jsonSchema": "{not json"},
                    {"templateId": "t3", "name": "No params", "jsonSchema": "", "operatingSystem": {"windows": ["10"]}},
                ],
                "count": 3,
            },
        )
    )

    scripts = await client.list_scripts()
    shell = await client.list_shell_scripts()
    one = await client.get_shell_script("t1")

    assert scripts[0].script_category == "Maintenance"
    assert [s.template_id for s in shell] == ["t1", "t2", "t3"]
    assert one.parameters_schema == schema
    assert shell[1].parameters_schema is None and "not valid JSON" in (shell[1].parameters_schema_error or "")
    assert shell[2].summary().operating_systems == ["windows"]
    with pytest.raises(NotFoundError):
        await client.get_shell_script("missing")


async def test_task_definitions_and_text_plain_auth_errors(
    client: ConnectWiseClient, router: respx.Router, token_route: respx.Route
) -> None:
    route = router.get("/api/platform/v1/automation/tasks").mock(
        side_effect=[
            httpx.Response(
                200,
                json=[{"name": "Reboot", "type": "script", "JSONSchema": "{}", "operatingSystem": {"windows": ["10"]}}],
            ),
            httpx.Response(403, text="access is forbidden", headers={"Content-Type": "text/plain"}),
        ]
    )

    tasks = await client.list_tasks()
    assert tasks[0].json_schema == "{}"

    with pytest.raises(AuthenticationError, match="access is forbidden"):
        await client.list_tasks()
    assert route.call_count == 2
