"""The Checkmk REST API 1.0 client against the loopback contract site: paths, auth header, columns,
large unpaged collections, and every failure as a typed, explained error."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from connectors.checkmk.client import CheckmkClient, api_base
from connectors.checkmk.errors import (
    AuthenticationError,
    CheckmkError,
    ForbiddenError,
    NotFoundError,
    ProtocolError,
    UpstreamError,
)
from connectors.checkmk.schemas import HOST_COLUMNS
from tests.conftest import free_port
from tests.connectors.checkmk.cmk_site import CheckmkSite, FakeHost, FakeService


def client_of(site: CheckmkSite, *, secret: str | None = None, site_name: str | None = None) -> CheckmkClient:
    return CheckmkClient(
        url=site.url,
        site=site_name or site.site,
        username=site.username,
        secret=SecretStr(secret if secret is not None else site.secret),
    )


def test_api_base_is_the_documented_path() -> None:
    assert api_base("https://mon.example.com/", "my site") == "https://mon.example.com/my%20site/check_mk/api/1.0"


async def test_reads_version_config_status_and_services(cmk_site: CheckmkSite) -> None:
    cmk_site.add(FakeHost("web01", alias="Web", ipaddress="10.1.1.1", folder="/linux"))
    cmk_site.add(
        FakeHost(
            "db01",
            state=1,
            output="CRIT - Host unreachable",
            services=[FakeService("CPU load"), FakeService("Disk /", 2, "CRIT - 97% used"), FakeService("NTP", 3)],
        )
    )
    async with client_of(cmk_site) as client:
        version = await client.version()
        configs = {c.name: c for c in await client.list_host_config()}
        statuses = {s.name: s for s in await client.list_host_status()}
        services = await client.host_services("db01")
    assert version.checkmk == "2.3.0p5" and version.site == "mysite"
    assert configs["web01"].alias == "Web" and configs["web01"].ipaddress == "10.1.1.1"
    assert configs["web01"].folder == "/linux"
    assert statuses["db01"].state == 1 and statuses["db01"].num_services_crit == 1
    assert statuses["db01"].num_services_unknown == 1 and statuses["db01"].num_services_ok == 1
    assert {s.description: s.state for s in services} == {"CPU load": 0, "Disk /": 2, "NTP": 3}
    # The documented paths, each with the automation bearer header.
    paths = cmk_site.paths()
    assert paths == [
        "/mysite/check_mk/api/1.0/version",
        "/mysite/check_mk/api/1.0/domain-types/host_config/collections/all",
        "/mysite/check_mk/api/1.0/domain-types/host/collections/all",
        "/mysite/check_mk/api/1.0/objects/host/db01/collections/services",
    ]
    assert {auth for _, auth in cmk_site.requests} == {"Bearer automation s3cr3t-automation"}


async def test_every_host_column_asked_for_exists_in_the_table(cmk_site: CheckmkSite) -> None:
    # The contract site answers 400 for an unknown column, as Checkmk does; the client's columns pass.
    cmk_site.add(FakeHost("web01"))
    async with client_of(cmk_site) as client:
        assert [s.name for s in await client.list_host_status()] == ["web01"]
    assert "num_services_crit" in HOST_COLUMNS


async def test_a_large_unpaged_collection_is_read_whole(cmk_site: CheckmkSite) -> None:
    for i in range(5000):
        cmk_site.add(FakeHost(f"host-{i:05d}", services=[FakeService("PING", i % 4)]))
    async with client_of(cmk_site) as client:
        started = time.perf_counter()
        statuses = await client.list_host_status()
        configs = await client.list_host_config()
        elapsed = time.perf_counter() - started
    assert len(statuses) == 5000 and len(configs) == 5000
    assert sum(s.num_services_crit for s in statuses) == 1250
    print(f"5,000 hosts: status + config read in {elapsed:.2f} s")


@pytest.mark.parametrize("wrong", ["wrong-secret", ""])
async def test_refused_credentials_are_an_authentication_error(cmk_site: CheckmkSite, wrong: str) -> None:
    async with client_of(cmk_site, secret=wrong or "x") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.list_host_status()
    assert caught.value.status == 401
    assert "You need to be authenticated" in str(caught.value)
    assert "automation user and its secret" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


async def test_missing_permission_is_a_forbidden_error(cmk_site: CheckmkSite) -> None:
    cmk_site.forbid_monitoring = True
    async with client_of(cmk_site) as client:
        with pytest.raises(ForbiddenError) as caught:
            await client.host_services("web01")
    assert caught.value.status == 403 and "general.see_all" in str(caught.value)


async def test_a_wrong_site_name_is_not_found(cmk_site: CheckmkSite) -> None:
    async with client_of(cmk_site, site_name="other") as client:
        with pytest.raises(NotFoundError) as caught:
            await client.version()
    assert caught.value.status == 404 and "/other/check_mk/api/1.0/version" in str(caught.value)


async def test_an_unreachable_site_is_an_upstream_error() -> None:
    client = CheckmkClient(url=f"http://127.0.0.1:{free_port()}", site="s", username="u", secret=SecretStr("p"))
    async with client:
        with pytest.raises(UpstreamError) as caught:
            await client.version()
    assert caught.value.status is None and "could not be reached" in str(caught.value)


async def test_an_answer_that_is_not_json_is_a_protocol_error(cmk_site: CheckmkSite) -> None:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>login</html>", headers={"content-type": "text/html"})

    client = CheckmkClient(
        url="http://proxy.test", site="s", username="u", secret=SecretStr("p"), transport=httpx.MockTransport(handler)
    )
    async with client:
        with pytest.raises(ProtocolError) as caught:
            await client.list_host_config()
    assert isinstance(caught.value, CheckmkError) and "text/html" in str(caught.value)
