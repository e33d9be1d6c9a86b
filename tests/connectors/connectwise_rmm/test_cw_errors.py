"""normalise_error turns every documented error-body shape (reference §5) into the hierarchy."""

from __future__ import annotations

import json

import httpx
import pytest

from connectors.connectwise_rmm.client.errors import (
    AuthenticationError,
    ConnectWiseError,
    KeyLockedError,
    NotFoundError,
    RateLimitedError,
    UpstreamUnavailableError,
    ValidationError,
    normalise_error,
)


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


def _text(status: int, body: str) -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers={"Content-Type": "text/plain"})


@pytest.mark.parametrize(
    ("response", "cls", "message", "code"),
    [
        pytest.param(
            _json(400, {"code": "bad_request", "message": "ErrClientIDNotAllowed"}),
            ValidationError,
            "ErrClientIDNotAllowed",
            "bad_request",
            id="v2-devices-code-message",
        ),
        pytest.param(
            _json(500, {"message": "Error Message", "code": "Error Code"}),
            UpstreamUnavailableError,
            "Error Message",
            "Error Code",
            id="automation-message-code",
        ),
        pytest.param(
            _text(401, "bearer token is missing, expired or invalid"),
            AuthenticationError,
            "bearer token is missing, expired or invalid",
            None,
            id="tasks-text-plain-401",
        ),
        pytest.param(
            _text(403, "access is forbidden"), AuthenticationError, "access is forbidden", None, id="tasks-text-403"
        ),
        pytest.param(
            _json(403, {"id": "abc", "message": "Forbidden", "type": "AUTHZ", "error": {"message": "no scope"}}),
            AuthenticationError,
            "Forbidden",
            "AUTHZ",
            id="device-groups-Message",
        ),
        pytest.param(
            _json(404, {"error": {"message": "Endpoint patches not found"}}),
            NotFoundError,
            "Endpoint patches not found",
            None,
            id="patching-error-message",
        ),
        pytest.param(
            _json(400, {"code": "Failure Code", "description": "Failure cause"}),
            ValidationError,
            "Failure cause",
            "Failure Code",
            id="heartbeat-code-description",
        ),
        pytest.param(
            _json(422, {"error": "invalid_value", "description": "value out of range"}),
            ValidationError,
            "value out of range",
            "invalid_value",
            id="custom-fields-error-description",
        ),
        pytest.param(
            _json(400, [{"code": "E1", "message": "summary is required"}, {"code": "E2", "message": "bad board"}]),
            ValidationError,
            "summary is required; bad board",
            "E1",
            id="ticketing-array",
        ),
        pytest.param(
            _json(405, [{"code": "method_not_allowed", "message": "Only replace operation is allowed"}]),
            ConnectWiseError,
            "Only replace operation is allowed",
            "method_not_allowed",
            id="ticketing-405",
        ),
        pytest.param(
            _json(401, {"error": "access_denied", "error_description": "invalid client"}),
            AuthenticationError,
            "invalid client",
            "access_denied",
            id="oauth-style",
        ),
        pytest.param(
            _json(404, {"message": "resource not found"}), NotFoundError, "resource not found", None, id="atlas-404"
        ),
        pytest.param(_json(500, {"detail": "boom"}), UpstreamUnavailableError, "boom", None, id="detail"),
        pytest.param(_json(502, {"title": "Bad gateway"}), UpstreamUnavailableError, "Bad gateway", None, id="title"),
        pytest.param(_json(400, {"errors": [{"message": "first"}]}), ValidationError, "first", None, id="errors-list"),
        pytest.param(_text(429, "Too many requests"), RateLimitedError, "Too many requests", None, id="429-text"),
        pytest.param(httpx.Response(503), UpstreamUnavailableError, "Service Unavailable", None, id="empty-body"),
        pytest.param(_text(500, "<html>oops</html>"), UpstreamUnavailableError, "<html>oops</html>", None, id="html"),
    ],
)
def test_every_documented_error_shape_is_normalised(
    response: httpx.Response, cls: type[ConnectWiseError], message: str, code: str | None
) -> None:
    error = normalise_error(response)

    assert type(error) is cls
    assert error.status == response.status_code
    assert error.message == message
    assert error.code == code
    assert error.upstream_body == (response.text or None)
    assert f"HTTP {response.status_code}" in str(error)
    assert message in str(error)


def test_423_tells_the_admin_what_happened_and_what_to_do() -> None:
    error = normalise_error(_json(423, {"message": "Locked"}))

    assert isinstance(error, KeyLockedError)
    text = str(error)
    assert "locked this API key" in text
    assert "requested access tokens too often" in text
    assert "Wait several minutes" in text
    assert "same Client ID" in text


def test_rate_limited_error_keeps_retry_after() -> None:
    error = normalise_error(_text(429, "slow down"), retry_after=12.0)

    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 12.0


def test_upstream_body_is_truncated() -> None:
    error = normalise_error(_text(500, "x" * 10_000))

    assert error.upstream_body is not None
    assert len(error.upstream_body) == 4000
