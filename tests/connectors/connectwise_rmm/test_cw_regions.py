"""Region -> API host mapping (reference §1.3)."""

from __future__ import annotations

import httpx
import pytest
import respx
from cw_fakes import token_json

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.regions import DEFAULT_REGION, Region, guess_region_from_client_id


@pytest.mark.parametrize(
    ("region", "host"),
    [
        (Region.AU, "https://openapi.service.auplatform.connectwise.com"),
        (Region.NA, "https://openapi.service.itsupport247.net"),
        (Region.EU, "https://openapi.service.euplatform.connectwise.com"),
    ],
)
async def test_each_region_signs_in_against_its_host(region: Region, host: str) -> None:
    router = respx.Router(assert_all_mocked=True)
    route = router.post(f"{host}/v1/token").mock(return_value=httpx.Response(200, json=token_json()))
    async with ConnectWiseClient(
        client_id="id", client_secret="secret", region=region.value, transport=httpx.MockTransport(router.async_handler)
    ) as client:
        await client.authenticate()

    assert route.call_count == 1
    assert region.api_base_url == host


async def test_default_region_is_au() -> None:
    async with ConnectWiseClient(client_id="id", client_secret="s") as client:
        assert client.region is Region.AU
    assert DEFAULT_REGION is Region.AU


def test_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError, match="'us'"):
        ConnectWiseClient(client_id="id", client_secret="s", region="us")


async def test_base_url_override_wins() -> None:
    async with ConnectWiseClient(
        client_id="id", client_secret="s", region=Region.EU, base_url="https://gw.example/cw"
    ) as client:
        assert str(client.session.base_url) == "https://gw.example/cw"
        assert str(client.session.absolute("/api/platform/v1/device-groups")) == (
            "https://gw.example/cw/api/platform/v1/device-groups"
        )


@pytest.mark.parametrize(
    ("client_id", "expected"),
    [("0e30abcd", Region.NA), ("0E31abcd", Region.EU), ("0e32abcd", Region.AU), ("6500023", None)],
)
def test_region_guess_from_client_id_prefix(client_id: str, expected: Region | None) -> None:
    assert guess_region_from_client_id(client_id) is expected
