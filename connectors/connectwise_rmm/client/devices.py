"""Device calls (reference §3.2-3.5), mixed into :class:`~connectors.connectwise_rmm.client.ConnectWiseClient`."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from typing import Literal, TypeVar

import httpx
from pydantic import BaseModel

from connectors.connectwise_rmm.client.companies import fetch_companies
from connectors.connectwise_rmm.client.errors import NotFoundError, ProtocolError, normalise_error
from connectors.connectwise_rmm.client.pagination import Page, iter_link_pages
from connectors.connectwise_rmm.client.schemas import (
    RESOURCE_LIMITS,
    CpuSample,
    Device,
    DeviceCategory,
    DeviceDetail,
    DeviceGroup,
    DeviceListRequest,
    DevicePatches,
    DeviceResourceType,
    DeviceState,
    DiskSample,
    EndpointListResponse,
    MemorySample,
    SystemState,
)
from connectors.connectwise_rmm.client.session import ConnectWiseSession, decode_json, parse_list, parse_model

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

DEVICE_LIST_PATH = "/api/platform/v2/device/categories/{category}/endpoints"
DEVICE_DETAIL_PATH = "/api/platform/v2/device/companies/{company}/sites/{site}/endpoints/{endpoint}"
ENDPOINT_PATH = "/api/platform/v2/device/endpoints/{endpoint}"
PAGE_LIMIT = 500


def _chunks(ids: Sequence[str], size: int) -> list[list[str]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def _has_json_body(response: httpx.Response) -> bool:
    """Whether an error response carries a JSON body (a real API answer, not a missing route)."""
    try:
        return decode_json(response) is not None
    except ProtocolError:
        return False


def _latest(items: list[object]) -> object:
    """The newest sample of a usage array (by ``createTimeUTC``), or ``None`` for an empty array."""
    dicts = [i for i in items if isinstance(i, dict)]
    if not dicts:
        return None
    return max(enumerate(dicts), key=lambda pair: (str(pair[1].get("createTimeUTC") or ""), pair[0]))[1]


def _section(model: type[M], data: object, what: str) -> M | None:
    return None if data is None else parse_model(model, data, what=what)


class DeviceMethods:
    """Devices, their state, patches and groups."""

    _session: ConnectWiseSession
    #: ``POST`` per the spec; switched to ``GET`` for this connection once the tenant shows it wants that.
    _device_list_method: Literal["POST", "GET"] = "POST"

    async def list_devices(
        self,
        company_id: str | None = None,
        site_id: str | None = None,
        *,
        endpoint_ids: Sequence[str] = (),
        category: DeviceCategory = DeviceCategory.PLATFORM,
        fields: Sequence[str] = ("os", "system"),
        endpoint_filter: str | None = None,
        max_items: int | None = None,
    ) -> list[Device]:
        """List managed endpoints, for a site, a company, given endpoint ids, or the whole partner.

        ``POST .../device/categories/{category}/endpoints`` with ``{"resourceType", "resources"}``, paged
        with ``limit``/``cursor`` and ``Link``. Uncertainties handled (reference §3.2, §4):

        * **Method**: the spec says POST; one live AU tenant requires GET with the same JSON body. POST is
          sent first; on 405, or a 404 without a JSON body, the same body is retried as GET and GET is kept
          for the rest of this connection.
        * A 404 *with* a JSON body (``{"message": "resource not found"}``) means "no devices" or "past the
          last page", and ends the listing.
        * With no company, site or ids, companies are listed and queried 4 at a time (the body's cap).

        Args:
            company_id: Only this company's endpoints.
            site_id: Only this site's endpoints (wins over ``company_id``).
            endpoint_ids: Only these endpoints (wins over both).
            category: ``platform`` (managed agents, the default), ``network``, ``cloud`` or ``all``.
            fields: Projection (max 15); without one ConnectWise returns only metadata.
            endpoint_filter: ConnectWise filter, e.g. ``"endpointType in (Server,Desktop)"``.
            max_items: Stop after this many devices.
        """
        if endpoint_ids:
            kind, ids = DeviceResourceType.ENDPOINT, list(endpoint_ids)
        elif site_id:
            kind, ids = DeviceResourceType.SITE, [site_id]
        elif company_id:
            kind, ids = DeviceResourceType.COMPANY, [company_id]
        else:
            kind, ids = DeviceResourceType.COMPANY, [c.id for c in await fetch_companies(self._session)]
        params: dict[str, str | int] = {"limit": PAGE_LIMIT, "cursor": 0}
        if fields:
            params["field"] = ",".join(fields)
        if endpoint_filter:
            params["filter"] = endpoint_filter
        url = self._session.absolute(DEVICE_LIST_PATH.format(category=category.value)).copy_merge_params(params)
        devices: list[Device] = []
        for chunk in _chunks(ids, RESOURCE_LIMITS[kind]):
            body = DeviceListRequest(resource_type=kind, resources=chunk).model_dump(mode="json", by_alias=True)
            fetch = functools.partial(self._fetch_device_page, body=body)
            async for page in iter_link_pages(fetch, url, max_pages=self._session.max_pages):
                devices.extend(parse_model(EndpointListResponse, page.data or {}, what="device list").devices())
                if max_items is not None and len(devices) >= max_items:
                    return devices[:max_items]
        return devices

    async def _fetch_device_page(self, url: httpx.URL, body: object) -> Page | None:
        method = self._device_list_method
        response = await self._session.request(method, url, body=body, idempotent=True, accept_statuses=(404, 405))
        wants_get = response.status_code == 405 or (response.status_code == 404 and not _has_json_body(response))
        if method == "POST" and wants_get:
            logger.info("device list answered %s to POST; retrying as GET with the body", response.status_code)
            response = await self._session.request("GET", url, body=body, idempotent=True, accept_statuses=(404,))
            if response.is_success:
                self._device_list_method = "GET"
        if response.status_code == 404:
            if _has_json_body(response):
                return None
            raise normalise_error(response)
        if response.status_code == 405:
            raise normalise_error(response)
        return Page(response=response, data=decode_json(response))

    async def get_device(
        self,
        endpoint_id: str,
        *,
        company_id: str | None = None,
        site_id: str | None = None,
        fields: Sequence[str] = (),
    ) -> DeviceDetail:
        """Hardware, OS and network details of one endpoint.

        The details path needs the endpoint's company and site. When either is not given they are looked
        up with one device-list call for the endpoint id (resource type ``endpoint``, category ``all``).

        Raises:
            NotFoundError: The endpoint is not visible to this key.
        """
        if not (company_id and site_id):
            found = await self.list_devices(endpoint_ids=[endpoint_id], category=DeviceCategory.ALL, fields=())
            match = next((d for d in found if d.endpoint_id == endpoint_id), None)
            if match is None or not (match.company_id and match.site_id):
                raise NotFoundError(f"endpoint {endpoint_id} was not found in the device list", status=404)
            company_id, site_id = match.company_id, match.site_id
        path = DEVICE_DETAIL_PATH.format(company=company_id, site=site_id, endpoint=endpoint_id)
        data = await self._session.get_json(path, params={"field": ",".join(fields)} if fields else None)
        return parse_model(DeviceDetail, data, what="device details")

    async def _optional(self, path: str) -> object:
        response = await self._session.request("GET", path, accept_statuses=(404,))
        return None if response.status_code == 404 else decode_json(response)

    async def get_device_state(self, endpoint_id: str) -> DeviceState:
        """System state (boot, users) plus the latest CPU, memory and disk samples, fetched concurrently.

        A section ConnectWise answers 404 for is left ``None`` and named in ``missing``; any other error
        fails the call. There is no process list in the API, only the CPU sample's process count.
        """
        base = ENDPOINT_PATH.format(endpoint=endpoint_id)
        state, cpu, memory, disk = await asyncio.gather(
            self._optional(f"{base}/system-state-info"),
            self._optional(f"{base}/cpu-usage"),
            self._optional(f"{base}/memory-usage"),
            self._optional(f"{base}/disk-usage"),
        )
        latest = {
            name: _latest(value) if isinstance(value, list) else value
            for name, value in (("system_state", state), ("cpu", cpu), ("memory", memory), ("disk", disk))
        }
        return DeviceState(
            endpoint_id=endpoint_id,
            system_state=_section(SystemState, latest["system_state"], "system state"),
            cpu=_section(CpuSample, latest["cpu"], "cpu usage"),
            memory=_section(MemorySample, latest["memory"], "memory usage"),
            disk=_section(DiskSample, latest["disk"], "disk usage"),
            missing=[name for name, value in latest.items() if value is None],
        )

    async def get_device_patches(self, endpoint_id: str) -> DevicePatches:
        """OS patch summary and list of one endpoint (``/api/platform/v2/patching/{id}/patches``).

        Raises:
            NotFoundError: ConnectWise has no patch data for the endpoint.
            AuthenticationError: Includes 401 "Partner is not entitled for the feature".
        """
        data = await self._session.get_json(f"/api/platform/v2/patching/{endpoint_id}/patches")
        return parse_model(DevicePatches, data or {}, what="device patches")

    async def list_device_groups(self) -> list[DeviceGroup]:
        """All static and dynamic device groups (scope ``platform.deviceGroups.read``)."""
        data = await self._session.get_json("/api/platform/v1/device-groups")
        return parse_list(DeviceGroup, data, what="device groups", keys=("deviceGroups", "data"))
