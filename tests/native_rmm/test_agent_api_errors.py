"""Malformed, oversized and unauthenticated agent payloads: clear errors, nothing stored."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from agent.protocol import (
    CHECKIN_PATH,
    COMMAND_RESULT_PATH,
    MAX_MESSAGE_BYTES,
    MAX_OUTPUT_BYTES,
    PROTOCOL_HEADER,
    AgentApiError,
    CommandKind,
    ErrorCode,
    Shell,
)
from hub.core.db import Database
from native_rmm.commands import service as commands
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from native_rmm.models.metrics import MetricSample
from native_rmm.plane import DevicePlane
from native_rmm.testing.agentsim import SimAgent, now, ok_result, sample_inventory
from tests.conftest import Tenancy


def _error(response: httpx.Response) -> AgentApiError:
    return AgentApiError.model_validate_json(response.content)


async def _stored(db: Database, device_id: int) -> tuple[int, str]:
    async with db.transaction() as session:
        samples = (await session.execute(select(func.count()).select_from(MetricSample))).scalar_one()
        device = await session.get(Device, device_id)
        assert device is not None
        return samples, device.hostname


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "invalid CheckinRequest"),
        (b'{"protocol_version": 1}', "metrics"),
        (b'{"protocol_version": 1, "agent_version": "x", "metrics": {}, "surprise": 1}', "surprise"),
    ],
)
async def test_malformed_checkin_is_400_and_stores_nothing(
    agent: SimAgent, plane: DevicePlane, db: Database, body: bytes, needle: str
) -> None:
    response = await agent.post(CHECKIN_PATH, body)
    assert response.status_code == 400
    error = _error(response)
    assert error.code is ErrorCode.MALFORMED_PAYLOAD and needle in error.message
    await plane.writer.flush()
    assert await _stored(db, agent.device_id or 0) == (0, "SIM-01")


async def test_bad_hash_and_bad_values_are_refused(agent: SimAgent, plane: DevicePlane, db: Database) -> None:
    body = agent.checkin_body(inventory=sample_inventory("RENAMED")).model_dump(mode="json")
    body["metrics"]["cpu_percent"] = 250
    response = await agent.post(CHECKIN_PATH, httpx.Request("POST", "/", json=body).content)
    assert response.status_code == 400 and "cpu_percent" in _error(response).message
    await plane.writer.flush()
    assert await _stored(db, agent.device_id or 0) == (0, "SIM-01")


async def test_oversized_body_is_413(agent: SimAgent) -> None:
    response = await agent.post(CHECKIN_PATH, b" " * (MAX_MESSAGE_BYTES + 1))
    assert response.status_code == 413 and _error(response).code is ErrorCode.PAYLOAD_TOO_LARGE


async def test_wrong_or_missing_credentials_and_header(agent: SimAgent) -> None:
    body = agent.checkin_body().model_dump_json()
    wrong = await agent.post(CHECKIN_PATH, body, headers={"Authorization": "Bearer rmd_wrong"})
    assert wrong.status_code == 401 and _error(wrong).code is ErrorCode.INVALID_CREDENTIAL
    none = await agent.http.post(CHECKIN_PATH, content=body)
    assert none.status_code == 401
    no_header = await agent.http.post(CHECKIN_PATH, content=body, headers={PROTOCOL_HEADER: ""} | agent._auth())
    assert no_header.status_code == 400 and PROTOCOL_HEADER in _error(no_header).message


async def _command(db: Database, tenancy: Tenancy, device_id: int) -> Command:
    async with db.transaction() as session:
        return await commands.enqueue(
            session,
            org_id=tenancy.org_id,
            device_id=device_id,
            kind=CommandKind.SHELL,
            shell=Shell.BASH,
            body="yes | head -c 5000000",
            env=None,
            timeout=60,
            created_by="tests",
        )


async def test_over_cap_output_is_truncated_server_side(agent: SimAgent, db: Database, tenancy: Tenancy) -> None:
    command = await _command(db, tenancy, agent.device_id or 0)
    five_mib = "y\n" * (5 * MAX_OUTPUT_BYTES // 2)
    data = {
        "command_id": command.uid,
        "status": "succeeded",
        "exit_code": 0,
        "stdout": five_mib,
        "stderr": "err",
        "finished_at": now().isoformat(),
    }
    raw = json.dumps(data)
    response = await agent.post(COMMAND_RESULT_PATH, raw)
    assert response.status_code == 204, response.text
    async with db.transaction() as session:
        stored = await session.get(Command, command.id)
        assert stored is not None
        assert stored.truncated is True and len(stored.stdout.encode()) == MAX_OUTPUT_BYTES and stored.stderr == ""
        assert stored.status.value == "succeeded"


async def test_results_first_wins_and_unknown_is_404(agent: SimAgent, db: Database, tenancy: Tenancy) -> None:
    command = await _command(db, tenancy, agent.device_id or 0)
    assert (await agent.report_result(ok_result(command.uid, "first"))).status_code == 204
    assert (await agent.report_result(ok_result(command.uid, "second"))).status_code == 204
    async with db.transaction() as session:
        stored = await session.get(Command, command.id)
        assert stored is not None and stored.stdout == "first"
    unknown = await agent.report_result(ok_result("cmd_unknown"))
    assert unknown.status_code == 404 and _error(unknown).code is ErrorCode.UNKNOWN_COMMAND
