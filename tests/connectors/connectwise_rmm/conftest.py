"""Fixtures for the ConnectWise RMM client tests.

ConnectWise is the edge we cannot reach, so it is mocked with respx -- following the documented
contract (reference/connectwise-rmm.md) -- through an injected transport. ``assert_all_mocked`` makes
any unmocked request fail the test, so nothing ever touches the network. Sleeps and the clock are fakes:
retries, pacing and polling are asserted by the delays they ask for, not waited out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from cw_fakes import BASE_URL, CLIENT_ID, CLIENT_SECRET, FakeClock, SleepRecorder, token_json
from cw_tenant import FakeTenant
from cw_world import CWWorld, default_scripts
from pydantic import SecretStr

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.regions import Region
from connectors.connectwise_rmm.client.retry import RetryPolicy
from connectors.connectwise_rmm.client.signin import SIGN_IN_GUARD
from connectors.connectwise_rmm.manager import ConnectionManager
from hub.core.context import HubContext


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # trust_env stays on in the client; a proxy variable on the test machine must not reroute the mock.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def sign_in_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """Each test starts with no remembered locks or refused sign-ins, on a clock the test moves."""
    clock = FakeClock()
    monkeypatch.setattr(SIGN_IN_GUARD, "clock", clock)
    SIGN_IN_GUARD.clear()
    yield clock
    SIGN_IN_GUARD.clear()


@pytest.fixture
def router() -> Iterator[respx.Router]:
    """The mocked ConnectWise API; unmocked requests raise."""
    yield respx.Router(base_url=BASE_URL, assert_all_mocked=True, assert_all_called=False)


@pytest.fixture
def token_route(router: respx.Router) -> respx.Route:
    """``POST /v1/token`` answering the spec's example token."""
    return router.post("/v1/token").mock(return_value=httpx.Response(200, json=token_json()))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeper(clock: FakeClock) -> SleepRecorder:
    return SleepRecorder(clock)


@pytest.fixture
async def make_client(
    router: respx.Router, sleeper: SleepRecorder, clock: FakeClock
) -> AsyncIterator[Callable[..., ConnectWiseClient]]:
    """Build clients wired to the mock router, fake sleep and clock; all are closed after the test."""
    made: list[ConnectWiseClient] = []

    def build(**overrides: Any) -> ConnectWiseClient:
        options: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "client_secret": SecretStr(CLIENT_SECRET),
            "region": Region.AU,
            "transport": httpx.MockTransport(router.async_handler),
            "rate_limit": None,
            "retry": RetryPolicy(jitter=0.0),
            "sleep": sleeper,
            "clock": clock,
        }
        options.update(overrides)
        client = ConnectWiseClient(**options)
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()


@pytest.fixture
async def client(make_client: Callable[..., ConnectWiseClient], token_route: respx.Route) -> ConnectWiseClient:
    """A client with the token endpoint mocked."""
    return make_client()


# -- fixtures for the connection, tools and discovery tests (a hub with fake tenants) --------------


@pytest.fixture
def tenant() -> FakeTenant:
    """The default fake tenant: two active shell scripts (one with a parameter schema) and one inactive."""
    return FakeTenant(
        scripts=default_scripts(),
        companies=[{"id": "c0ffee00-0000-4000-8000-000000000001", "name": "Acme Pty Ltd", "friendlyName": "Acme"}],
    )


@pytest.fixture
def cw_world(hub: HubContext, tenant: FakeTenant) -> CWWorld:
    """The hub's ConnectionManager wired to the fake tenants (in-process ASGI transport)."""
    manager: ConnectionManager = hub.components.get(ConnectionManager)
    return CWWorld(manager, tenant)
