"""Lock-outs respected across reconnects, refused sign-ins backing off, and upstream failures mapped to
meaningful REST statuses (issue 8, item 10). ConnectWise is mocked with respx following the contract in
``reference/connectwise-rmm.md`` (§1.1 token and 423, §4 429/Retry-After, §5 error bodies)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from cw_fakes import CLIENT_ID, FakeClock, token_json
from cw_tenant import FakeTenant
from cw_world import CWWorld, connect_org
from pydantic import SecretStr

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.errors import (
    AuthenticationError,
    KeyLockedError,
    SignInDeferredError,
    rest_status,
)
from connectors.connectwise_rmm.client.regions import Region
from connectors.connectwise_rmm.client.retry import RetryPolicy
from connectors.connectwise_rmm.manager import ConnectionManager
from hub.core.context import HubContext
from tests.conftest import Tenancy, TestUser

URL = "/api/v1/integrations/connectwise-rmm"
COMPANIES = "/api/platform/v1/company/companies"
SHELL_SCRIPTS = "/api/platform/v1/automation/shellScripts"
SHELL_ROUTE = "shell-scripts"
Clients = Callable[[TestUser], httpx.AsyncClient]
LOCKED = {"message": "API key locked: too many token requests"}
WRONG_SECRET = {"error": "invalid_client", "error_description": "Client authentication failed"}


# -- the client: cool-down and back-off per (region, client id), not per client object ----------------


async def test_a_new_client_during_the_lock_sends_no_token_request(
    make_client: Callable[..., ConnectWiseClient], router: respx.Router, sign_in_clock: FakeClock
) -> None:
    token = router.post("/v1/token").mock(return_value=httpx.Response(423, json=LOCKED))
    with pytest.raises(KeyLockedError) as first:
        await make_client().authenticate()
    assert first.value.retry_after == 300
    for _ in range(3):  # every reconnect builds a new client
        with pytest.raises(KeyLockedError, match="not signing in again") as again:
            await make_client().authenticate()
        assert rest_status(again.value) == (503, 300)
    assert token.call_count == 1  # the lock was not prolonged

    sign_in_clock.now += 299
    with pytest.raises(KeyLockedError):
        await make_client().authenticate()
    assert token.call_count == 1
    sign_in_clock.now += 2
    token.mock(return_value=httpx.Response(200, json=token_json()))
    await make_client().authenticate()
    assert token.call_count == 2


async def test_a_longer_retry_after_on_423_is_honoured(
    make_client: Callable[..., ConnectWiseClient], router: respx.Router, sign_in_clock: FakeClock
) -> None:
    router.post("/v1/token").mock(return_value=httpx.Response(423, headers={"Retry-After": "900"}, json=LOCKED))
    with pytest.raises(KeyLockedError):
        await make_client().authenticate()
    sign_in_clock.now += 600
    with pytest.raises(KeyLockedError) as caught:
        await make_client().authenticate()
    assert rest_status(caught.value) == (503, 300)


async def test_the_lock_belongs_to_one_client_id_and_region(
    make_client: Callable[..., ConnectWiseClient], router: respx.Router
) -> None:
    router.post("/v1/token").mock(
        side_effect=lambda request: (
            httpx.Response(423, json=LOCKED)
            if CLIENT_ID.encode() in request.content
            else httpx.Response(200, json=token_json())
        )
    )
    with pytest.raises(KeyLockedError):
        await make_client().authenticate()
    await make_client(client_id="another-client").authenticate()  # another key signs in
    na = respx.Router(base_url=Region.NA.api_base_url, assert_all_mocked=True)
    na_token = na.post("/v1/token").mock(return_value=httpx.Response(200, json=token_json()))
    await make_client(region=Region.NA, transport=httpx.MockTransport(na.async_handler)).authenticate()
    assert na_token.call_count == 1  # the same id in another region is another key


async def test_repeated_wrong_secrets_back_off(
    make_client: Callable[..., ConnectWiseClient], router: respx.Router, sign_in_clock: FakeClock
) -> None:
    """Reproduction: five wrong-secret connects went out within 0.3 s (and tripped the lock)."""
    token = router.post("/v1/token").mock(return_value=httpx.Response(401, json=WRONG_SECRET))
    outcomes: list[type[Exception]] = []
    for _ in range(5):
        with pytest.raises((AuthenticationError, SignInDeferredError)) as caught:
            await make_client().authenticate()
        outcomes.append(type(caught.value))
    assert outcomes == [AuthenticationError] * 2 + [SignInDeferredError] * 3
    assert token.call_count == 2
    sign_in_clock.now += 2  # the wait after the second refusal
    with pytest.raises(AuthenticationError):
        await make_client().authenticate()
    with pytest.raises(SignInDeferredError) as deferred:
        await make_client().authenticate()
    assert deferred.value.retry_after == 4  # doubled
    assert rest_status(deferred.value) == (503, 4)
    assert token.call_count == 3

    sign_in_clock.now += 4
    token.mock(return_value=httpx.Response(200, json=token_json()))
    await make_client().authenticate()
    token.mock(return_value=httpx.Response(401, json=WRONG_SECRET))
    with pytest.raises(AuthenticationError):
        await make_client().authenticate()  # a success started afresh: the next refusal is not deferred
    assert token.call_count == 5


# -- the REST API: reconnecting during a lock, failed connects, tool calls ------------------------------


async def test_reconnecting_during_a_lock_answers_503_without_a_token_request(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant, sign_in_clock: FakeClock
) -> None:
    """Reproduction: each reconnect during a lock minted (and prolonged the lock)."""
    admin = client_for(tenancy.admin)
    tenant.locked = True
    for _ in range(4):
        r = await connect_org(admin, tenant)
        assert r.status_code == 503 and 0 < int(r.headers["Retry-After"]) <= 300
        assert "locked" in r.json()["message"]
    assert len(tenant.calls("POST", "/v1/token")) == 1
    tenant.locked = False  # ConnectWise lifts the lock; the hub still waits out its cool-down
    assert (await connect_org(admin, tenant)).status_code == 503
    assert len(tenant.calls("POST", "/v1/token")) == 1
    sign_in_clock.now += 300
    assert (await connect_org(admin, tenant)).status_code == 200
    assert len(tenant.calls("POST", "/v1/token")) == 2


async def test_five_wrong_secret_connects_send_two_token_requests(
    tenancy: Tenancy, client_for: Clients, cw_world: CWWorld, tenant: FakeTenant
) -> None:
    admin = client_for(tenancy.admin)
    bad = {"client_id": tenant.client_id, "client_secret": "not-the-key", "region": "au"}
    answers = [await admin.post(URL, json=bad) for _ in range(5)]
    assert [a.status_code for a in answers] == [400, 400, 503, 503, 503]
    assert all(a.headers["Retry-After"] == "2" for a in answers[2:])
    assert "refused" in answers[2].json()["message"] and "Check the Client ID" in answers[2].json()["message"]
    assert len(tenant.calls("POST", "/v1/token")) == 2


@pytest.fixture
def respx_world(hub: HubContext, router: respx.Router, token_route: respx.Route) -> respx.Router:
    """The hub's ConnectionManager talking to the respx-mocked ConnectWise (two attempts per request)."""
    manager = hub.components.get(ConnectionManager)

    async def instant(_: float) -> None:
        await asyncio.sleep(0)

    def build(*, client_id: str, client_secret: SecretStr, region: Region, base_url: str | None, scopes: Any) -> Any:
        return ConnectWiseClient(
            client_id=client_id,
            client_secret=client_secret,
            region=region,
            base_url=base_url,
            scopes=scopes,
            transport=httpx.MockTransport(router.async_handler),
            rate_limit=None,
            retry=RetryPolicy(jitter=0.0, max_attempts=2),
            sleep=instant,
        )

    manager.client_factory = build
    router.get(SHELL_SCRIPTS, name=SHELL_ROUTE).mock(
        return_value=httpx.Response(200, json={"Templates": [], "count": 0})
    )
    return router


@pytest.mark.parametrize(
    ("upstream", "status", "retry_after"),
    [
        pytest.param(httpx.Response(423, json=LOCKED), 503, "300", id="423-locked"),
        pytest.param(httpx.Response(429, headers={"Retry-After": "7"}, text="Too many requests"), 503, "7", id="429"),
        pytest.param(
            httpx.Response(429, json={"code": "429", "message": "Too many requests"}), 503, "60", id="429-bare"
        ),
        pytest.param(httpx.Response(500, json={"code": "500", "message": "Internal error"}), 502, None, id="500"),
        pytest.param(httpx.Response(503, text="Service Unavailable"), 502, None, id="503-after-retries"),
        pytest.param(httpx.ReadTimeout("timed out"), 502, None, id="timeout"),
        pytest.param(httpx.ConnectError("connection refused"), 502, None, id="unreachable"),
        pytest.param(httpx.Response(200, text="<html>maintenance</html>"), 502, None, id="not-json"),
        pytest.param(httpx.Response(404, json={"message": "resource not found"}), 404, None, id="404"),
        pytest.param(httpx.Response(400, json={"code": "bad_request", "message": "bad filter"}), 400, None, id="400"),
    ],
)
async def test_tool_calls_map_upstream_failures_to_meaningful_statuses(
    tenancy: Tenancy,
    client_for: Clients,
    respx_world: respx.Router,
    upstream: httpx.Response | Exception,
    status: int,
    retry_after: str | None,
) -> None:
    """Reproduction: every upstream error answered 400."""
    admin = client_for(tenancy.admin)
    connected = await admin.post(URL, json={"client_id": CLIENT_ID, "client_secret": "k3y", "region": "au"})
    assert connected.status_code == 200, connected.text
    _answer(respx_world.get(COMPANIES), upstream)
    r = await admin.post("/api/v1/tools/cw-rmm-list-companies/invoke", json={"args": {}, "reason": "audit"})
    assert r.status_code == status, r.text
    assert r.headers.get("Retry-After") == retry_after
    assert r.json()["status"] == "failed" and r.json()["message"].startswith("ConnectWise RMM")


def _answer(route: respx.Route, upstream: httpx.Response | Exception) -> None:
    if isinstance(upstream, Exception):
        route.mock(side_effect=upstream)
    else:
        route.mock(return_value=upstream)


FAILURES = [
    pytest.param(httpx.Response(500, json={"message": "boom"}), 502, id="5xx"),
    pytest.param(httpx.ReadTimeout("timed out"), 502, id="timeout"),
    pytest.param(httpx.Response(423, json=LOCKED), 503, id="423"),
]


@pytest.mark.parametrize(("upstream", "status"), FAILURES)
async def test_connect_maps_upstream_failures(
    tenancy: Tenancy,
    client_for: Clients,
    respx_world: respx.Router,
    token_route: respx.Route,
    upstream: Any,
    status: int,
) -> None:
    _answer(token_route, upstream)
    failed = await client_for(tenancy.admin).post(
        URL, json={"client_id": CLIENT_ID, "client_secret": "k", "region": "au"}
    )
    assert failed.status_code == status, failed.text
    assert ("Retry-After" in failed.headers) == (status == 503)
    assert failed.json()["status"] == "error"


@pytest.mark.parametrize(("upstream", "status"), FAILURES)
async def test_rediscover_maps_upstream_failures(
    tenancy: Tenancy, client_for: Clients, respx_world: respx.Router, upstream: Any, status: int
) -> None:
    admin = client_for(tenancy.admin)
    assert (
        await admin.post(URL, json={"client_id": CLIENT_ID, "client_secret": "k", "region": "au"})
    ).status_code == 200
    _answer(respx_world.routes[SHELL_ROUTE], upstream)
    failed = await admin.post(f"{URL}/rediscover")
    assert failed.status_code == status, failed.text
    assert ("Retry-After" in failed.headers) == (status == 503)
    assert failed.json()["status"] == "error"
