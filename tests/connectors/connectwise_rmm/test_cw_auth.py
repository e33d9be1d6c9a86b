"""Token minting and caching against ``POST /v1/token`` (reference §1.1)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

import httpx
import pytest
import respx
from cw_fakes import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, token_json

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.auth import DEFAULT_SCOPES
from connectors.connectwise_rmm.client.errors import AuthenticationError, KeyLockedError

GROUPS = "/api/platform/v1/device-groups"


def _bearer(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


async def test_token_request_is_a_json_body_with_the_client_credentials(
    client: ConnectWiseClient, token_route: respx.Route
) -> None:
    info = await client.authenticate()

    request = token_route.calls.last.request
    assert request.method == "POST"
    assert request.url.path == "/v1/token"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": " ".join(DEFAULT_SCOPES),
    }
    assert "Authorization" not in request.headers
    assert info.token_type == "Bearer"
    assert info.scope == "platform.companies.read"
    assert info.expires_at is not None and info.expires_at > time.time() + 3000
    assert ACCESS_TOKEN not in repr(info)


async def test_empty_scopes_leave_scope_out_of_the_body(
    make_client: Callable[..., ConnectWiseClient], token_route: respx.Route
) -> None:
    await make_client(scopes=()).authenticate()

    assert "scope" not in json.loads(token_route.calls.last.request.content)


async def test_fifty_concurrent_calls_share_one_token(
    client: ConnectWiseClient, router: respx.Router, token_route: respx.Route
) -> None:
    async def slow_token(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # let every caller pile up on the lock
        return httpx.Response(200, json=token_json())

    token_route.side_effect = slow_token
    groups = router.get(GROUPS).mock(return_value=httpx.Response(200, json=[]))

    await asyncio.gather(*(client.list_device_groups() for _ in range(50)))

    assert token_route.call_count == 1
    assert groups.call_count == 50
    assert {_bearer(call.request) for call in groups.calls} == {ACCESS_TOKEN}


async def test_token_is_reused_until_shortly_before_expiry(
    client: ConnectWiseClient, router: respx.Router, token_route: respx.Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_route.side_effect = [
        httpx.Response(200, json=token_json("first", expires_in=3599)),
        httpx.Response(200, json=token_json("second", expires_in=3599)),
    ]
    groups = router.get(GROUPS).mock(return_value=httpx.Response(200, json=[]))
    start = time.time()

    await client.list_device_groups()
    monkeypatch.setattr(time, "time", lambda: start + 3500)  # 99 s left: still outside the 60 s leeway
    await client.list_device_groups()
    monkeypatch.setattr(time, "time", lambda: start + 3545)  # 54 s left: re-mint before it expires
    await client.list_device_groups()

    assert token_route.call_count == 2
    assert [_bearer(c.request) for c in groups.calls] == ["first", "first", "second"]


async def test_missing_expires_in_defaults_to_an_hour(client: ConnectWiseClient, token_route: respx.Route) -> None:
    token_route.mock(return_value=httpx.Response(200, json=token_json(expires_in=None)))

    info = await client.authenticate()

    assert info.expires_at is not None
    assert 3590 <= info.expires_at - time.time() <= 3600


async def test_401_re_mints_exactly_once_and_retries(
    client: ConnectWiseClient, router: respx.Router, token_route: respx.Route
) -> None:
    token_route.side_effect = [
        httpx.Response(200, json=token_json("stale")),
        httpx.Response(200, json=token_json("fresh")),
    ]
    groups = router.get(GROUPS).mock(
        side_effect=lambda request: (
            httpx.Response(200, json=[{"id": "g1", "name": "Servers"}])
            if _bearer(request) == "fresh"
            else httpx.Response(401, json={"code": "access_denied", "message": "token expired"})
        )
    )

    result = await client.list_device_groups()

    assert [g.name for g in result] == ["Servers"]
    assert token_route.call_count == 2
    assert [_bearer(c.request) for c in groups.calls] == ["stale", "fresh"]


async def test_concurrent_401s_re_mint_once(
    client: ConnectWiseClient, router: respx.Router, token_route: respx.Route
) -> None:
    token_route.side_effect = [
        httpx.Response(200, json=token_json("stale")),
        httpx.Response(200, json=token_json("fresh")),
    ]
    router.get(GROUPS).mock(
        side_effect=lambda request: (
            httpx.Response(200, json=[])
            if _bearer(request) == "fresh"
            else httpx.Response(401, text="bearer token is missing, expired or invalid")
        )
    )
    await client.authenticate()

    await asyncio.gather(*(client.list_device_groups() for _ in range(20)))

    assert token_route.call_count == 2


async def test_second_401_is_an_authentication_error(
    client: ConnectWiseClient, router: respx.Router, token_route: respx.Route
) -> None:
    router.get(GROUPS).mock(return_value=httpx.Response(401, json={"code": "access_denied", "message": "denied"}))

    with pytest.raises(AuthenticationError, match="still refused after a fresh token") as caught:
        await client.list_device_groups()

    assert caught.value.status == 401
    assert caught.value.code == "access_denied"
    assert token_route.call_count == 2


async def test_403_is_not_re_minted(client: ConnectWiseClient, router: respx.Router, token_route: respx.Route) -> None:
    router.get(GROUPS).mock(return_value=httpx.Response(403, text="access is forbidden"))

    with pytest.raises(AuthenticationError, match="access is forbidden"):
        await client.list_device_groups()

    assert token_route.call_count == 1


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_refused_credentials_name_the_likely_causes(
    client: ConnectWiseClient, token_route: respx.Route, status: int
) -> None:
    token_route.mock(return_value=httpx.Response(status, json={"error": "invalid_client"}))

    with pytest.raises(AuthenticationError) as caught:
        await client.authenticate()

    assert caught.value.status == status
    assert "Client ID and API key" in str(caught.value)
    assert "platform.devices.read" in str(caught.value)


async def test_423_is_key_locked_and_not_retried_during_the_cool_down(
    client: ConnectWiseClient, router: respx.Router, token_route: respx.Route
) -> None:
    token_route.mock(return_value=httpx.Response(423, json={"message": "Locked"}))
    groups = router.get(GROUPS).mock(return_value=httpx.Response(200, json=[]))

    with pytest.raises(KeyLockedError) as caught:
        await client.authenticate()
    assert caught.value.status == 423
    assert "requested access tokens too often" in str(caught.value)
    assert "Wait several minutes" in str(caught.value)

    with pytest.raises(KeyLockedError, match="not signing in again"):
        await client.list_device_groups()

    assert token_route.call_count == 1
    assert groups.call_count == 0


async def test_token_endpoint_503_is_retried(
    client: ConnectWiseClient, token_route: respx.Route, sleeper: object
) -> None:
    token_route.side_effect = [httpx.Response(503), httpx.Response(200, json=token_json())]

    await client.authenticate()

    assert token_route.call_count == 2


async def test_secrets_never_reach_reprs_or_logs(
    client: ConnectWiseClient, router: respx.Router, token_route: respx.Route, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    router.get(GROUPS).mock(
        side_effect=[httpx.Response(401, text="expired"), httpx.Response(200, json=[])],
    )

    await client.list_device_groups()

    texts = [repr(client), repr(client.session), repr(client.session.tokens), str(vars(client)), caplog.text]
    for text in texts:
        assert CLIENT_SECRET not in text
        assert ACCESS_TOKEN not in text
    assert "minted a ConnectWise token" in caplog.text
