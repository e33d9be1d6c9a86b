"""HubClient error mapping and headers, and push-channel helpers (transport injected)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import httpx
import pytest

from agent import protocol as p
from agent.client import CredentialRejected, HubClient, HubRejected, HubUnavailable
from agent.push import backoff_delay, websocket_url

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RESULT = p.CommandResult(command_id="c", status=p.CommandStatus.FAILED, finished_at=NOW)


def _client(handler: httpx.MockTransport) -> HubClient:
    return HubClient("http://hub.test/", credential="cred", transport=handler)


async def test_headers_and_bodies_follow_the_protocol() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with _client(httpx.MockTransport(handler)) as client:
        await client.report_result(RESULT)
    request = seen[0]
    assert request.url == "http://hub.test/agent/v1/commands/result"
    assert request.headers[p.PROTOCOL_HEADER] == str(p.PROTOCOL_VERSION)
    assert request.headers["authorization"] == "Bearer cred"
    assert p.CommandResult.model_validate_json(request.content) == RESULT


@pytest.mark.parametrize(
    ("response", "error", "match"),
    [
        (httpx.Response(503), HubUnavailable, "503"),
        (httpx.Response(401, json={"code": "invalid_credential", "message": "revoked"}), CredentialRejected, "revoked"),
        (httpx.Response(404, json={"code": "unknown_command", "message": "no such command"}), HubRejected, "unknown"),
        (httpx.Response(426, json={"code": "unsupported_protocol", "message": "too old"}), HubRejected, "too old"),
        (httpx.Response(400, text="<html>proxy error</html>"), HubRejected, "proxy error"),
    ],
)
async def test_errors_are_typed(response: httpx.Response, error: type[Exception], match: str) -> None:
    async with _client(httpx.MockTransport(lambda _: response)) as client:
        with pytest.raises(error, match=match):
            await client.report_result(RESULT)


async def test_network_failure_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client(httpx.MockTransport(handler)) as client:
        with pytest.raises(HubUnavailable, match="refused"):
            await client.report_result(RESULT)


async def test_a_response_that_breaks_the_protocol_is_unavailable() -> None:
    body = json.dumps({"protocol_version": 1, "commands": [{"id": "bad id!"}]})
    metrics = p.MetricsSample(
        taken_at=NOW, cpu_percent=1, memory_percent=1, memory_used_bytes=1, memory_total_bytes=2, uptime_seconds=1
    )
    request = p.CheckinRequest(protocol_version=1, agent_version="0.1.0", metrics=metrics)
    async with _client(httpx.MockTransport(lambda _: httpx.Response(200, text=body))) as client:
        with pytest.raises(HubUnavailable, match="does not follow the protocol"):
            await client.checkin(request)


def test_websocket_url() -> None:
    assert websocket_url("https://hub.example.com/", p.WEBSOCKET_PATH) == "wss://hub.example.com/agent/v1/ws"
    assert websocket_url("http://127.0.0.1:8000", "/x") == "ws://127.0.0.1:8000/x"


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(attempt, 60, rng) for attempt in range(10)]
    assert 0.5 <= delays[0] <= 1
    assert 4 <= delays[3] <= 8
    assert all(30 <= d <= 60 for d in delays[6:])
    assert len({round(d, 6) for d in delays[6:]}) > 1  # jitter: not lock-step
