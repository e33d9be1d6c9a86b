"""Test helpers for the agent: a protocol-level stand-in for the hub's ``/agent/v1`` API, served by uvicorn on loopback.

It speaks only ``agent.protocol`` (the contract native_rmm implements) so that the agent can be
tested as a real process before and independently of the real hub. It keeps everything in memory
and can be stopped and restarted on the same port to simulate a hub restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse

from agent import protocol as p
from agent.config import AgentState, StateStore
from agent.runtime import AgentRuntime
from tests.ports import free_port
from tests.waiting import SettledServer


class _QuietServer(SettledServer):
    """uvicorn without signal handling: it runs inside the test's event loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


REPO = Path(__file__).resolve().parents[2]
_GRACEFUL_SECONDS = 5  # the real hub's bound (hub/cli.py)


@dataclass
class FakeHubState:
    """What the fake hub has seen; survives a restart of the server (like a database)."""

    token: str = "install-token-123"
    wheel: Path | None = None
    checkin_interval: int = 60
    quick_support_ttl: timedelta | None = None
    credentials: dict[str, str] = field(default_factory=dict)  # credential -> device id
    enrollments: list[p.EnrollRequest] = field(default_factory=list)
    checkins: list[p.CheckinRequest] = field(default_factory=list)
    queued: dict[str, list[p.CommandSpec]] = field(default_factory=dict)  # device -> not yet acked
    statuses: list[p.CommandStatusUpdate] = field(default_factory=list)
    results: dict[str, p.CommandResult] = field(default_factory=dict)
    result_deliveries: int = 0
    deregistered: list[tuple[str, p.DeregisterReason]] = field(default_factory=list)
    apps_hash: dict[str, str] = field(default_factory=dict)
    disconnects: list[int] = field(default_factory=list)


class FakeHub:
    """Serve :class:`FakeHubState` over HTTP + WebSocket on ``127.0.0.1:port``."""

    def __init__(self, state: FakeHubState | None = None, port: int | None = None) -> None:
        self.state = state or FakeHubState()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sockets: dict[str, WebSocket] = {}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.app = self._build()

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws="websockets-sansio",
            timeout_graceful_shutdown=_GRACEFUL_SECONDS,
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Go down like a hub restarting: the push sockets are closed with 1012 and uvicorn ends (bounded like
        the real hub's shutdown: a handler still running after it is cancelled, and uvicorn logs it)."""
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        for ws in list(self.sockets.values()):
            with contextlib.suppress(RuntimeError):
                await ws.close(code=1012)
        await self._task
        self.sockets.clear()

    async def push(self, device_id: str, command: p.CommandSpec) -> bool:
        """Queue a command and push it at once when the agent is connected."""
        self.state.queued.setdefault(device_id, []).append(command)
        ws = self.sockets.get(device_id)
        if ws is None:
            return False
        await ws.send_text(p.CommandMessage(command=command).model_dump_json())
        return True

    def _ack(self, device_id: str, command_id: str) -> None:
        queue = self.state.queued.get(device_id, [])
        self.state.queued[device_id] = [c for c in queue if c.id != command_id]

    def _device(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return self.state.credentials.get(auth.removeprefix("Bearer "))

    def _build(self) -> FastAPI:
        app = FastAPI()
        state = self.state

        def error(status: int, code: p.ErrorCode, message: str) -> JSONResponse:
            body = p.AgentApiError(code=code, message=message).model_dump(mode="json", exclude_none=True)
            return JSONResponse(body, status_code=status)

        async def parse(request: Request, model: type[p.BaseModel]) -> p.BaseModel | JSONResponse:
            if request.headers.get(p.PROTOCOL_HEADER) not in {str(v) for v in p.SUPPORTED_PROTOCOL_VERSIONS}:
                return error(426, p.ErrorCode.UNSUPPORTED_PROTOCOL, "unsupported protocol")
            try:
                return model.model_validate_json(await request.body())
            except ValueError as exc:
                return error(400, p.ErrorCode.MALFORMED_PAYLOAD, str(exc)[:4000])

        @app.get(p.WHEEL_PATH)
        async def wheel() -> Response:
            assert state.wheel is not None
            return FileResponse(state.wheel)

        @app.post(p.ENROLL_PATH)
        async def enroll(request: Request) -> Response:
            body = await parse(request, p.EnrollRequest)
            if isinstance(body, JSONResponse):
                return body
            assert isinstance(body, p.EnrollRequest)
            if body.installer_token != state.token:
                return error(401, p.ErrorCode.INVALID_TOKEN, "unknown installer token")
            state.enrollments.append(body)
            device_id, credential = f"dev-{len(state.enrollments)}", secrets.token_urlsafe(24)
            state.credentials[credential] = device_id
            expires = (
                datetime.now(UTC) + state.quick_support_ttl if body.quick_support and state.quick_support_ttl else None
            )
            response = p.EnrollResponse(
                device_id=device_id,
                device_credential=credential,
                checkin_interval_seconds=state.checkin_interval,
                protocol_version=p.PROTOCOL_VERSION,
                support_code="123-456" if body.quick_support else None,
                session_expires_at=expires,
            )
            return Response(response.model_dump_json(), status_code=201, media_type="application/json")

        @app.post(p.CHECKIN_PATH)
        async def checkin(request: Request) -> Response:
            device = self._device(request)
            if device is None:
                return error(401, p.ErrorCode.INVALID_CREDENTIAL, "unknown credential")
            body = await parse(request, p.CheckinRequest)
            if isinstance(body, JSONResponse):
                return body
            assert isinstance(body, p.CheckinRequest)
            state.checkins.append(body)
            if body.applications is not None and body.applications_hash:
                state.apps_hash[device] = body.applications_hash
            response = p.CheckinResponse(
                protocol_version=p.PROTOCOL_VERSION,
                commands=state.queued.get(device, []),
                checkin_interval_seconds=state.checkin_interval,
                applications_hash=state.apps_hash.get(device),
            )
            return Response(response.model_dump_json(), media_type="application/json")

        @app.post(p.COMMAND_STATUS_PATH)
        async def status(request: Request) -> Response:
            device = self._device(request)
            body = await parse(request, p.CommandStatusUpdate)
            if device is None or isinstance(body, JSONResponse):
                return body if isinstance(body, JSONResponse) else error(401, p.ErrorCode.INVALID_CREDENTIAL, "no")
            assert isinstance(body, p.CommandStatusUpdate)
            state.statuses.append(body)
            self._ack(device, body.command_id)
            return Response(status_code=204)

        @app.post(p.COMMAND_RESULT_PATH)
        async def result(request: Request) -> Response:
            device = self._device(request)
            body = await parse(request, p.CommandResult)
            if device is None or isinstance(body, JSONResponse):
                return body if isinstance(body, JSONResponse) else error(401, p.ErrorCode.INVALID_CREDENTIAL, "no")
            assert isinstance(body, p.CommandResult)
            state.result_deliveries += 1
            state.results.setdefault(body.command_id, body)
            self._ack(device, body.command_id)
            return Response(status_code=204)

        @app.post(p.DEREGISTER_PATH)
        async def deregister(request: Request) -> Response:
            device = self._device(request)
            body = await parse(request, p.DeregisterRequest)
            if device is None or isinstance(body, JSONResponse):
                return body if isinstance(body, JSONResponse) else error(401, p.ErrorCode.INVALID_CREDENTIAL, "no")
            assert isinstance(body, p.DeregisterRequest)
            state.deregistered.append((device, body.reason))
            state.credentials = {c: d for c, d in state.credentials.items() if d != device}
            return Response(status_code=204)

        @app.websocket(p.WEBSOCKET_PATH)
        async def ws_endpoint(ws: WebSocket) -> None:
            await ws.accept()
            hello = p.parse_agent_message(await ws.receive_text())
            assert isinstance(hello, p.HelloMessage)
            device = state.credentials.get(hello.device_credential)
            if device is None:
                await ws.close(code=p.WS_CLOSE_UNAUTHORIZED, reason="unknown credential")
                return
            await ws.send_text(p.HelloAckMessage(protocol_version=1, device_id=device).model_dump_json())
            self.sockets[device] = ws
            try:
                while True:  # until WebSocketDisconnect, which ends the connection normally
                    message = p.parse_agent_message(await ws.receive_text())
                    if isinstance(message, p.CommandAckMessage):
                        self._ack(device, message.command_id)
                    elif isinstance(message, p.CommandStatusMessage):
                        state.statuses.append(message.update)
                        self._ack(device, message.update.command_id)
                    elif isinstance(message, p.CommandResultMessage):
                        state.result_deliveries += 1
                        state.results.setdefault(message.result.command_id, message.result)
                        await ws.send_text(p.ResultAckMessage(command_id=message.result.command_id).model_dump_json())
            except WebSocketDisconnect as exc:
                state.disconnects.append(exc.code)
            finally:
                if self.sockets.get(device) is ws:
                    del self.sockets[device]

        return app


class AgentProcess:
    """``python -m agent run`` as a real child process, with its log kept for failure messages."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def wait(self, within: float = 20) -> int:
        """The exit code, once the process has exited (fails with the agent's log after ``within`` s)."""
        try:
            return await asyncio.wait_for(self.proc.wait(), within)
        except TimeoutError:
            raise AssertionError(f"the agent did not exit within {within} s; its log:\n{self.log()[-4000:]}") from None

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


StartAgent = Callable[..., Awaitable[AgentProcess]]


def agent_env(**extra: str) -> dict[str, str]:
    """The environment of an agent under test: the repository's ``agent`` package, 1 s check-ins."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "RMMHUB_AGENT_CHECKIN_INTERVAL": "1",
        "RMMHUB_AGENT_RECONNECT_MAX": "0.5",
        **extra,
    }


@contextlib.asynccontextmanager
async def agent_processes(tmp_path: Path) -> AsyncIterator[StartAgent]:
    """``await start(*args, program=..., env=..., cwd=...)`` starts ``program -m agent *args`` (its log in
    ``tmp_path``; ``env`` defaults to :func:`agent_env`); every agent started is stopped on exit."""
    started: list[AgentProcess] = []

    async def start(
        *args: str, program: str = sys.executable, env: dict[str, str] | None = None, cwd: Path = REPO
    ) -> AgentProcess:
        log_path = tmp_path / f"agent-{len(started)}.log"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                program,
                "-m",
                "agent",
                *args,
                cwd=cwd,
                env=env or agent_env(),
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )
        agent = AgentProcess(proc, log_path)
        started.append(agent)
        return agent

    try:
        yield start
    finally:
        for agent in started:
            await agent.stop()


def offline_runtime(tmp_path: Path) -> AgentRuntime:
    """An enrolled agent runtime, in this process, whose hub (port 9) is never there."""
    store = StateStore(tmp_path / "state")
    state = AgentState(
        hub_url="http://127.0.0.1:9", device_id="dev-1", websocket_path="/agent/v1/ws", enrolled_at=datetime.now(UTC)
    )
    store.save(state, "cred-secret")
    return AgentRuntime(store)
