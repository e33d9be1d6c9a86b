"""An async client of Checkmk's REST API 1.0 over one ``httpx.AsyncClient``.

Base URL ``<url>/<site>/check_mk/api/1.0``; every request carries ``Authorization: Bearer <user>
<secret>`` (an automation user) and ``Accept: application/json``. Checkmk's collections are not paged:
one answer holds every object, so the client reads large answers whole (bounded by
``max_response_bytes``) and parses them once. The transport is injectable (tests use a loopback server).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from connectors.checkmk.errors import CheckmkError, ProtocolError, UpstreamError, error_for
from connectors.checkmk.schemas import (
    HOST_COLUMNS,
    SERVICE_COLUMNS,
    Collection,
    HostConfig,
    HostConfigExtensions,
    HostStatus,
    InstalledVersions,
    ServiceStatus,
)

API_PATH = "check_mk/api/1.0"
DEFAULT_TIMEOUT_SECONDS = 30.0
#: A site with 20,000 hosts answers host status in about 10 MB; beyond this the answer is refused.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
M = TypeVar("M", bound=BaseModel)


def api_base(url: str, site: str) -> str:
    """``https://monitor.example.com`` + ``mysite`` -> ``https://monitor.example.com/mysite/check_mk/api/1.0``."""
    return f"{url.rstrip('/')}/{quote(site, safe='')}/{API_PATH}"


class CheckmkClient:
    """Typed methods for the few endpoints the connector uses.

    Args:
        url: the Checkmk server (scheme and host, optionally a path prefix), without the site.
        site: the site name (the first path segment of the web UI).
        username: the automation user.
        secret: its automation secret.
        transport: an httpx transport (tests); ``None`` uses the network.
        timeout: seconds per request.
    """

    def __init__(
        self,
        *,
        url: str,
        site: str,
        username: str,
        secret: SecretStr,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = api_base(url, site)
        self.max_response_bytes = max_response_bytes
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {username} {secret.get_secret_value()}",
                "Accept": "application/json",
            },
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> CheckmkClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> Any:
        try:
            response = await self._http.get(path, params=list(params))
        except httpx.TimeoutException as exc:
            raise UpstreamError(f"Checkmk did not answer {path} in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Checkmk could not be reached at {self.base_url} ({type(exc).__name__})") from exc
        if response.status_code >= 400:
            raise error_for(response)
        if len(response.content) > self.max_response_bytes:
            raise ProtocolError(f"Checkmk's answer to {path} is larger than {self.max_response_bytes} bytes")
        try:
            return response.json()
        except ValueError as exc:
            kind = response.headers.get("content-type", "no content type")
            raise ProtocolError(f"Checkmk answered {path} with something that is not JSON ({kind})") from exc

    def _parse(self, model: type[M], data: Any, what: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ProtocolError(f"Checkmk's {what} answer has an unexpected shape: {exc.errors()[0]['msg']}") from exc

    async def version(self) -> InstalledVersions:
        """``GET /version`` (any authenticated user): proves the URL, site and credentials."""
        return self._parse(InstalledVersions, await self._get("/version"), "version")

    async def list_host_config(self) -> list[HostConfig]:
        """``GET /domain-types/host_config/collections/all``: every configured host with folder and alias."""
        data = await self._get("/domain-types/host_config/collections/all", [("include_links", "false")])
        hosts: list[HostConfig] = []
        for obj in self._parse(Collection, data, "host_config").value:
            ext = self._parse(HostConfigExtensions, obj.extensions, "host_config")
            name = obj.id or obj.title
            if name:
                hosts.append(
                    HostConfig(
                        name=name, folder=ext.folder, alias=ext.attributes.alias, ipaddress=ext.attributes.ipaddress
                    )
                )
        return hosts

    async def list_host_status(self) -> list[HostStatus]:
        """``GET /domain-types/host/collections/all`` with :data:`HOST_COLUMNS`: state and service counts."""
        data = await self._get("/domain-types/host/collections/all", [("columns", c) for c in HOST_COLUMNS])
        rows = self._parse(Collection, data, "host").value
        return [self._parse(HostStatus, {"name": o.id, **o.extensions}, "host") for o in rows]

    async def host_services(self, host_name: str) -> list[ServiceStatus]:
        """``GET /objects/host/{host_name}/collections/services`` with :data:`SERVICE_COLUMNS`."""
        path = f"/objects/host/{quote(host_name, safe='')}/collections/services"
        data = await self._get(path, [("columns", c) for c in SERVICE_COLUMNS])
        rows = self._parse(Collection, data, "service").value
        return [self._parse(ServiceStatus, o.extensions, "service") for o in rows]


__all__ = ["CheckmkClient", "CheckmkError", "api_base"]
