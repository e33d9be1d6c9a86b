"""Devices: list (POST / GET-with-body fallback, Link paging), details, state, patches, groups (§3.2-3.5)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from cw_fakes import BASE_URL

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.errors import AuthenticationError, NotFoundError, UpstreamUnavailableError
from connectors.connectwise_rmm.client.schemas import DeviceCategory

PLATFORM = "/api/platform/v2/device/categories/platform/endpoints"
ALL = "/api/platform/v2/device/categories/all/endpoints"
COMPANIES = "/api/platform/v1/company/companies"
ENDPOINT = "f4b2990c-075a-4132-967c-2fa3431e89df"


def _endpoint(endpoint_id: str, name: str) -> dict[str, object]:
    return {
        "endpointID": endpoint_id,
        "deviceName": name,
        "friendlyName": f"{name} (friendly)",
        "endpointType": "Desktop",
        "ipAddress": ["10.0.0.12"],
        "os": {"product": "Windows 11 Pro", "version": "10.0.22631"},
        "system": {"serialNumber": "ABC123", "model": "OptiPlex"},
    }


def _page(company: str, site: str, *endpoints: dict[str, object]) -> dict[str, object]:
    return {"platform": [{"companyID": company, "siteID": site, "endpoints": list(endpoints)}]}


async def test_list_devices_posts_the_documented_body_and_follows_link_pages(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    route = router.post(PLATFORM).mock(
        side_effect=[
            httpx.Response(
                200,
                json=_page("c1", "s1", _endpoint("e1", "WS01"), _endpoint("e2", "WS02")),
                headers={"Link": f'<{BASE_URL}{PLATFORM}?cursor=500&limit=500>; rel="next"'},
            ),
            httpx.Response(
                200,
                json=_page("c1", "s2", _endpoint("e3", "WS03")),
                headers={"Link": f'<{PLATFORM}?cursor=1000&limit=500>; rel="next"'},
            ),
            httpx.Response(200, json=_page("c1", "s2", _endpoint("e4", "WS04"))),
        ]
    )

    devices = await client.list_devices(company_id="c1")

    assert [(d.endpoint_id, d.company_id, d.site_id) for d in devices] == [
        ("e1", "c1", "s1"),
        ("e2", "c1", "s1"),
        ("e3", "c1", "s2"),
        ("e4", "c1", "s2"),
    ]
    assert devices[0].name == "WS01 (friendly)"
    assert devices[0].os is not None and devices[0].os.product == "Windows 11 Pro"
    assert devices[0].category is DeviceCategory.PLATFORM
    first, second = route.calls[0].request, route.calls[1].request
    assert json.loads(first.content) == {"resourceType": "company", "resources": ["c1"]}
    assert dict(first.url.params) == {"limit": "500", "cursor": "0", "field": "os,system"}
    assert second.url.params["cursor"] == "500"
    assert second.url.params["field"] == "os,system"  # kept although the Link dropped it
    assert route.calls[2].request.url.params["cursor"] == "1000"
    assert first.headers["Authorization"].startswith("Bearer ")
    assert first.headers["X-Request-ID"]
    assert first.headers["Origin"] == BASE_URL


@pytest.mark.parametrize(
    "refusal",
    [httpx.Response(405, text="Method Not Allowed"), httpx.Response(404)],
    ids=["405", "404-without-json"],
)
async def test_device_list_falls_back_to_get_with_body_and_remembers(
    client: ConnectWiseClient, router: respx.Router, refusal: httpx.Response
) -> None:
    post = router.post(PLATFORM).mock(return_value=refusal)
    get = router.get(PLATFORM).mock(return_value=httpx.Response(200, json=_page("c1", "s1", _endpoint("e1", "WS01"))))

    first = await client.list_devices(site_id="s1")
    second = await client.list_devices(site_id="s1")

    assert [d.endpoint_id for d in first] == [d.endpoint_id for d in second] == ["e1"]
    assert post.call_count == 1  # the second listing goes straight to GET
    assert get.call_count == 2
    for call in get.calls:
        assert call.request.method == "GET"
        assert json.loads(call.request.content) == {"resourceType": "site", "resources": ["s1"]}


async def test_404_with_a_json_body_means_no_devices(client: ConnectWiseClient, router: respx.Router) -> None:
    post = router.post(PLATFORM).mock(return_value=httpx.Response(404, json={"message": "resource not found"}))
    get = router.get(PLATFORM).mock(return_value=httpx.Response(200, json={}))

    assert await client.list_devices(company_id="empty") == []
    assert post.call_count == 1
    assert get.call_count == 0


async def test_partner_wide_listing_queries_companies_four_at_a_time(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    router.get(COMPANIES).mock(
        return_value=httpx.Response(200, json=[{"id": f"c{i}", "name": f"C{i}"} for i in range(6)])
    )
    route = router.post(PLATFORM).mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=_page(
                json.loads(request.content)["resources"][0],
                "s",
                _endpoint(json.loads(request.content)["resources"][0] + "-e", "X"),
            ),
        )
    )

    devices = await client.list_devices()

    bodies = [json.loads(c.request.content) for c in route.calls]
    assert bodies == [
        {"resourceType": "company", "resources": ["c0", "c1", "c2", "c3"]},
        {"resourceType": "company", "resources": ["c4", "c5"]},
    ]
    assert [d.endpoint_id for d in devices] == ["c0-e", "c4-e"]


async def test_max_items_stops_paging_early(client: ConnectWiseClient, router: respx.Router) -> None:
    route = router.post(PLATFORM).mock(
        return_value=httpx.Response(
            200,
            json=_page("c1", "s1", _endpoint("e1", "A"), _endpoint("e2", "B")),
            headers={"Link": f'<{PLATFORM}?cursor=2>; rel="next"'},
        )
    )

    devices = await client.list_devices(company_id="c1", max_items=1)

    assert [d.endpoint_id for d in devices] == ["e1"]
    assert route.call_count == 1


async def test_get_device_resolves_company_and_site_from_the_list(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    lookup = router.post(ALL).mock(
        return_value=httpx.Response(200, json=_page("c1", "s1", _endpoint(ENDPOINT, "WS01")))
    )
    detail = router.get(f"/api/platform/v2/device/companies/c1/sites/s1/endpoints/{ENDPOINT}").mock(
        return_value=httpx.Response(
            200,
            json={
                "companyID": "c1",
                "siteID": "s1",
                "endpointID": ENDPOINT,
                "endpointType": "Desktop",
                "platform": {
                    "deviceName": "ACME-WS01",
                    "friendlyName": "Reception PC",
                    "os": {"product": "Windows 11 Pro", "displayVersion": "23H2"},
                    "system": {"model": "OptiPlex 7090", "serialNumber": "ABC123", "domain": "acme.local"},
                    "processors": [{"product": "Intel Core i5"}],
                    "physicalMemory": [{"sizeBytes": 8589934592}, {"sizeBytes": 8589934592}],
                    "logicalVolume": [{"name": "C:", "capacity": 500, "freeSpaceBytes": 100}],
                    "antiViruses": [{"name": "Defender", "version": "4.18"}],
                    "installedSoftwares": [{"name": f"app{i}"} for i in range(500)],
                },
            },
        )
    )

    device = await client.get_device(ENDPOINT)
    summary = device.summary()

    assert json.loads(lookup.calls.last.request.content) == {"resourceType": "endpoint", "resources": [ENDPOINT]}
    assert "field" not in lookup.calls.last.request.url.params
    assert detail.call_count == 1
    assert summary.name == "Reception PC"
    assert summary.os == "Windows 11 Pro 23H2"
    assert summary.total_memory_bytes == 17179869184
    assert summary.antivirus == ["Defender"]
    assert len(summary.model_dump_json()) < 2000


async def test_get_device_with_known_location_skips_the_lookup(client: ConnectWiseClient, router: respx.Router) -> None:
    route = router.get(f"/api/platform/v2/device/companies/c1/sites/s1/endpoints/{ENDPOINT}").mock(
        return_value=httpx.Response(200, json={"endpointId": ENDPOINT, "clientId": "c1", "siteId": "s1"})
    )

    device = await client.get_device(ENDPOINT, company_id="c1", site_id="s1", fields=("os", "system"))

    assert (device.endpoint_id, device.company_id, device.site_id) == (ENDPOINT, "c1", "s1")
    assert route.calls.last.request.url.params["field"] == "os,system"


async def test_get_device_unknown_endpoint_is_not_found(client: ConnectWiseClient, router: respx.Router) -> None:
    router.post(ALL).mock(return_value=httpx.Response(404, json={"message": "resource not found"}))

    with pytest.raises(NotFoundError, match="not found in the device list"):
        await client.get_device("nope")


async def test_device_state_gathers_sections_and_tolerates_missing_ones(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    base = f"/api/platform/v2/device/endpoints/{ENDPOINT}"
    router.get(f"{base}/system-state-info").mock(
        return_value=httpx.Response(
            200,
            json={
                "endpointID": ENDPOINT,
                "startupStatus": {"lastBootUpTimeUTC": "2025-01-01T00:00:00Z"},
                "lastLoggedOnUser": {"username": "maria"},
                "loggedOnUsers": [{"username": "maria", "sessionID": "1"}],
            },
        )
    )
    router.get(f"{base}/cpu-usage").mock(
        return_value=httpx.Response(
            200,
            json=[
                {"createTimeUTC": "2025-01-01T00:01:00Z", "metric": {"percentUtil": 5.0, "numOfProcesses": 100}},
                {"createTimeUTC": "2025-01-01T00:02:00Z", "metric": {"percentUtil": 19.9, "numOfProcesses": 212}},
            ],
        )
    )
    router.get(f"{base}/memory-usage").mock(
        return_value=httpx.Response(
            200, json=[{"physicalTotalBytes": 1000, "physicalInUseBytes": 250, "physicalAvailableBytes": 750}]
        )
    )
    router.get(f"{base}/disk-usage").mock(return_value=httpx.Response(404))

    state = await client.get_device_state(ENDPOINT)
    summary = state.summary()

    assert state.missing == ["disk"]
    assert summary.cpu_percent == 19.9
    assert summary.process_count == 212
    assert summary.memory_percent_used == 25.0
    assert summary.last_boot_utc == "2025-01-01T00:00:00Z"
    assert summary.logged_on_users == ["maria"]


async def test_device_state_fails_loudly_on_other_errors(client: ConnectWiseClient, router: respx.Router) -> None:
    base = f"/api/platform/v2/device/endpoints/{ENDPOINT}"
    for section in ("system-state-info", "cpu-usage", "memory-usage"):
        router.get(f"{base}/{section}").mock(return_value=httpx.Response(200, json=[]))
    router.get(f"{base}/disk-usage").mock(return_value=httpx.Response(500, text="Internal server error"))

    with pytest.raises(UpstreamUnavailableError):
        await client.get_device_state(ENDPOINT)


async def test_device_patches_keep_unknown_status_codes_visible(
    client: ConnectWiseClient, router: respx.Router
) -> None:
    router.get(f"/api/platform/v2/patching/{ENDPOINT}/patches").mock(
        return_value=httpx.Response(
            200,
            json={
                "summary": {"missingCount": 1, "installedCount": 1, "compliance": 97.5, "pendingReboot": False},
                "patches": [
                    {"kbArticleID": "KB1", "status": 1, "installedDate": "2025-01-01", "installedBy": "agent"},
                    {"kbArticleID": "KB5031356", "status": 0, "msrcSeverity": "Critical"},
                ],
            },
        )
    )

    patches = (await client.get_device_patches(ENDPOINT)).trimmed(endpoint_id=ENDPOINT)

    assert [(p.kb, p.state) for p in patches.patches] == [("KB5031356", "unknown(0)"), ("KB1", "installed")]
    assert patches.compliance == 97.5


async def test_patching_not_entitled_keeps_the_upstream_message(
    client: ConnectWiseClient, router: respx.Router, token_route: respx.Route
) -> None:
    router.get(f"/api/platform/v2/patching/{ENDPOINT}/patches").mock(
        return_value=httpx.Response(401, json={"error": {"message": "Partner is not entitled for the feature"}})
    )

    with pytest.raises(AuthenticationError, match="Partner is not entitled for the feature"):
        await client.get_device_patches(ENDPOINT)


async def test_device_groups(client: ConnectWiseClient, router: respx.Router) -> None:
    router.get("/api/platform/v1/device-groups").mock(
        return_value=httpx.Response(
            200, json=[{"id": "g1", "name": "Servers", "predefined": False, "static": True, "extra": "ignored"}]
        )
    )

    groups = await client.list_device_groups()

    assert groups[0].model_dump() == {
        "id": "g1",
        "name": "Servers",
        "description": None,
        "predefined": False,
        "static": True,
        "created_at": None,
        "updated_at": None,
    }
