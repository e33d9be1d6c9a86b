"""A fake ConnectWise RMM tenant that follows the documented contract (reference/connectwise-rmm.md).

One ASGI app serves it two ways: in-process through ``httpx.ASGITransport`` (injected into the hub's
ConnectionManager), and on a loopback port through uvicorn (for the CLI subprocess and the browser
test, where the hub runs in another thread or process). It records every request so tests assert
the exact payloads ConnectWise would receive.

Contract points implemented: ``POST /v1/token`` with a JSON body (scopes must all be granted, else
400 ``invalid_scope``; a wrong secret 401 ``invalid_client``; a locked key 423); bearer tokens on every
other call; ``shellScripts`` as ``{"Templates": [...], "count": n}`` with ``jsonSchema`` as a string;
schedule-tasks answering 201; task instances and results in their PascalCase / ``Result`` envelopes;
tickets as ``{"tickets": [...], "totalCount": n}`` (the ``number`` filter applied); ticket notes
(``POST .../v1/.../tickets/{id}/notes`` with ``{detail, visibility}`` answering 201, 404 for an
unknown ticket); the device list (``{"platform": [{companyID, siteID, endpoints}]}`` for a company's
``resources``) and each endpoint's cpu/memory/system-state samples (disk 404: no data).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.waiting import ThreadedServer

ALL_SCOPES = [
    "platform.companies.read",
    "platform.sites.read",
    "platform.devices.read",
    "platform.deviceGroups.read",
    "platform.patching.read",
    "platform.automation.read",
    "platform.automation.create",
    "platform.tickets.read",
    "platform.tickets.create",
    "platform.agent.read",
    "platform.asset.read",
]


def shell_script(
    template_id: str, name: str, *, schema: dict[str, Any] | str | None = None, **extra: Any
) -> dict[str, Any]:
    """A ``Templates[]`` entry; ``schema`` becomes the ``jsonSchema`` *string* ConnectWise sends."""
    body: dict[str, Any] = {
        "templateId": template_id,
        "name": name,
        "description": extra.pop("description", f"{name} script"),
        "categories": ["Maintenance"],
        "executorEngine": "ACTIONS",
        "expectedExecutionTimeSec": 600,
        "operatingSystem": {"windows": ["10", "11"]},
        "hasParameters": schema is not None,
        "state": extra.pop("state", "Active"),
        "createdOn": "2025-01-02T03:04:05Z",
        "updatedOn": "2025-01-02T03:04:05Z",
    }
    if schema is not None:
        body["jsonSchema"] = schema if isinstance(schema, str) else json.dumps(schema)
    body.update(extra)
    return body


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeTenant:
    """One partner tenant: its credentials, scripts, companies, task runs and tickets."""

    client_id: str = "0e32-client-a"
    client_secret: str = "S3cret-API-key-A"
    granted_scopes: list[str] = field(default_factory=lambda: list(ALL_SCOPES))
    locked: bool = False
    scripts: list[dict[str, Any]] = field(default_factory=list)
    companies: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    #: managed endpoints: the list row (``endpointID``, ``deviceName``, ``companyID``, ``siteID``...) plus the
    #: fake's own ``cpu``/``memory`` percentages and ``users`` logged on
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: polls of a task's instances before it reports COMPLETED
    polls_until_done: int = 2
    results: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    tokens_minted: int = 0
    _tokens: set[str] = field(default_factory=set)
    _tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/v1/token", self._token, methods=["POST"]),
                Route("/api/platform/v1/automation/shellScripts", self._shell_scripts, methods=["GET"]),
                Route("/api/platform/v1/company/companies", self._companies, methods=["GET"]),
                Route("/api/platform/v1/company/companies/{cid}", self._company, methods=["GET"]),
                Route("/api/platform/v2/automation/endpoints/schedule-tasks", self._schedule, methods=["POST"]),
                Route("/api/platform/v1/automation/tasks/{task}/instances/summary", self._instances, methods=["GET"]),
                Route(
                    "/api/platform/v2/automation/tasks/{task}/instances/{inst}/results", self._results, methods=["GET"]
                ),
                Route("/api/platform/v2/service/ticketing/tickets", self._tickets, methods=["GET", "POST"]),
                Route("/api/platform/v1/service/ticketing/tickets/{tid}/notes", self._notes, methods=["GET", "POST"]),
                Route(
                    "/api/platform/v2/device/categories/platform/endpoints", self._endpoints, methods=["GET", "POST"]
                ),
                Route("/api/platform/v2/device/endpoints/{eid}/{section}", self._endpoint_section, methods=["GET"]),
            ]
        )

    # -- helpers for tests ------------------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.app)

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    @property
    def scheduled(self) -> list[dict[str, Any]]:
        return [r.body for r in self.calls("POST", "/api/platform/v2/automation/endpoints/schedule-tasks")]

    # -- handlers ---------------------------------------------------------------------------------

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        self.requests.append(Recorded(request.method, request.url.path, dict(request.query_params), body))
        return body

    def _authorised(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self._tokens

    async def _token(self, request: Request) -> Response:
        body = await self._record(request)
        if request.headers.get("content-type", "").split(";")[0] != "application/json" or not isinstance(body, dict):
            return JSONResponse({"error": "invalid_request", "error_description": "JSON body required"}, 400)
        if self.locked:
            return JSONResponse({"message": "API key locked: too many token requests"}, 423)
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        requested = str(body.get("scope") or "").split()
        refused = [s for s in requested if s not in self.granted_scopes]
        if refused:
            return JSONResponse(
                {"error": "invalid_scope", "error_description": f"scope not granted: {' '.join(refused)}"}, 400
            )
        token = uuid.uuid4().hex
        self._tokens.add(token)
        self.tokens_minted += 1
        scope = " ".join(requested) if requested else " ".join(self.granted_scopes)
        return JSONResponse({"access_token": token, "scope": scope, "token_type": "Bearer", "expires_in": 3599})

    async def _guard(self, request: Request) -> tuple[Any, Response | None]:
        body = await self._record(request)
        if not self._authorised(request):
            return body, JSONResponse({"code": "access_denied", "message": "bearer token is missing or invalid"}, 401)
        return body, None

    async def _shell_scripts(self, request: Request) -> Response:
        _, denied = await self._guard(request)
        return denied or JSONResponse({"Templates": self.scripts, "count": len(self.scripts)})

    async def _companies(self, request: Request) -> Response:
        _, denied = await self._guard(request)
        return denied or JSONResponse(self.companies)

    async def _company(self, request: Request) -> Response:
        _, denied = await self._guard(request)
        if denied:
            return denied
        cid = request.path_params["cid"]
        found = next((c for c in self.companies if c["id"] == cid), None)
        if found is None:
            return JSONResponse({"message": "resource not found", "code": "not_found"}, 404)
        return JSONResponse(found)

    async def _schedule(self, request: Request) -> Response:
        body, denied = await self._guard(request)
        if denied:
            return denied
        if not isinstance(body.get("parameters"), str):
            return JSONResponse({"message": "parameters must be a JSON string", "code": "bad_request"}, 400)
        task_id = str(uuid.uuid4())
        self._tasks[task_id] = {"body": body, "polls": 0, "instance": str(uuid.uuid4())}
        return JSONResponse(
            {
                "taskId": task_id,
                "templateId": body["templateID"],
                "templateType": "script",
                "name": body["name"],
                "createdOn": "2025-06-01T00:00:00Z",
                "modifiedOn": "2025-06-01T00:00:00Z",
                "stateToBeSubmitted": "Scheduled",
            },
            201,
        )

    async def _instances(self, request: Request) -> Response:
        _, denied = await self._guard(request)
        if denied:
            return denied
        task = self._tasks.get(request.path_params["task"])
        if task is None:
            return JSONResponse({"message": "Task does not exist", "code": "not_found"}, 404)
        task["polls"] += 1
        done = task["polls"] >= self.polls_until_done
        targets = task["body"]["targets"]
        row = {
            "TaskID": request.path_params["task"],
            "Id": task["instance"],
            "Name": task["body"]["name"],
            "OverallStatus": "Completed" if done else "Running",
            "DeviceCount": len(targets),
            "SuccessCount": len(targets) if done else 0,
            "FailedCount": 0,
            "RunningCount": 0 if done else len(targets),
            "ExecutedOn": "2025-06-01T00:00:05Z",
        }
        return JSONResponse({"Results": [row], "Count": 1})

    async def _results(self, request: Request) -> Response:
        _, denied = await self._guard(request)
        if denied:
            return denied
        task = self._tasks[request.path_params["task"]]
        rows = [
            {
                "endpointId": target,
                "completionStatus": "Success",
                "resultDetails": self.results.get(target, {}).get("output", f"ok on {target}"),
                "errorDetails": "",
                "executiontime": "2025-06-01T00:00:09Z",
                "taskId": request.path_params["task"],
                "taskInstanceId": task["instance"],
            }
            for target in task["body"]["targets"]
        ]
        return JSONResponse({"Result": rows, "Count": len(rows)})

    async def _tickets(self, request: Request) -> Response:
        body, denied = await self._guard(request)
        if denied:
            return denied
        if request.method == "POST":
            ticket = {"id": str(uuid.uuid4()), "number": str(1000 + len(self.tickets)), **body, "version": 1}
            ticket["status"] = {"id": "s1", "name": "New"}
            self.tickets.append(ticket)
            return JSONResponse(ticket, 201)
        number = request.query_params.get("number")
        shown = [t for t in self.tickets if number is None or t["number"] == number]
        return JSONResponse({"tickets": shown, "totalCount": len(shown)})

    async def _notes(self, request: Request) -> Response:
        body, denied = await self._guard(request)
        if denied:
            return denied
        tid = request.path_params["tid"]
        if not any(t["id"] == tid for t in self.tickets):
            return JSONResponse({"errors": [{"code": "NOT_FOUND", "message": "ticket not found"}]}, 404)
        if request.method == "GET":
            return JSONResponse(self.notes.get(tid, []))
        detail = body.get("detail") if isinstance(body, dict) else None
        if not isinstance(detail, str) or not detail or body.get("visibility") not in (1, 2, 7, 8):
            return JSONResponse({"errors": [{"code": "BAD_REQUEST", "message": "detail and visibility"}]}, 400)
        note = {
            "id": str(uuid.uuid4()),
            "ticketId": tid,
            "detail": detail,
            "visibility": body["visibility"],
            "createdAt": "2025-06-01T00:00:00Z",
            "createdBy": "api",
        }
        self.notes.setdefault(tid, []).append(note)
        return JSONResponse(note, 201)

    async def _endpoints(self, request: Request) -> Response:
        body, denied = await self._guard(request)
        if denied:
            return denied
        wanted = set(body.get("resources") or []) if isinstance(body, dict) else set()
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for e in self.endpoints:
            if e["companyID"] in wanted or e["siteID"] in wanted or e["endpointID"] in wanted:
                row = {k: v for k, v in e.items() if k not in ("cpu", "memory", "users")}
                groups.setdefault((e["companyID"], e["siteID"]), []).append(row)
        platform = [{"companyID": c, "siteID": s, "endpoints": rows} for (c, s), rows in groups.items()]
        if not platform:
            return JSONResponse({"message": "resource not found"}, 404)
        return JSONResponse({"platform": platform})

    async def _endpoint_section(self, request: Request) -> Response:
        _, denied = await self._guard(request)
        if denied:
            return denied
        e = next((x for x in self.endpoints if x["endpointID"] == request.path_params["eid"]), None)
        section = request.path_params["section"]
        at = "2025-06-01T00:00:00Z"
        if e is None or section not in ("cpu-usage", "memory-usage", "system-state-info"):
            return JSONResponse({"message": "resource not found"}, 404)
        if section == "cpu-usage":
            return JSONResponse([{"createTimeUTC": at, "metric": {"percentUtil": e.get("cpu", 0.0)}}])
        if section == "memory-usage":
            total = 16 * 1024**3
            used = int(total * e.get("memory", 0.0) / 100)
            return JSONResponse([{"createTimeUTC": at, "physicalTotalBytes": total, "physicalInUseBytes": used}])
        users = [{"username": u} for u in e.get("users", [])]
        return JSONResponse({"createTimeUTC": at, "loggedOnUsers": users})


class LoopbackServer:
    """Serve a :class:`FakeTenant` on 127.0.0.1 in a background thread (uvicorn)."""

    def __init__(self, tenant: FakeTenant, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._server = ThreadedServer(tenant.app, port=port, name="fake-connectwise")

    def __enter__(self) -> LoopbackServer:
        self._server.start(within=15)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
