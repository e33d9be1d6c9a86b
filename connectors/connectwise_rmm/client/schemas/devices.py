"""Devices (endpoints) and device groups (reference §3.2, §3.5).

The list endpoint groups endpoints by category, then by company and site; :meth:`EndpointListResponse.devices`
flattens that into :class:`Device` rows that carry their company, site and category. Details come back as
one large object (installed software, users, hardware inventory); :meth:`DeviceDetail.summary` keeps what a
technician or a model needs.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AliasChoices, Field

from connectors.connectwise_rmm.client.schemas.base import CWModel


class DeviceCategory(StrEnum):
    """Path segment of the device list: which family of endpoints to return."""

    PLATFORM = "platform"
    NETWORK = "network"
    CLOUD = "cloud"
    ALL = "all"


class DeviceResourceType(StrEnum):
    """What the ids in a device-list body are. ConnectWise caps them at 4 companies, 10 sites, 500 endpoints."""

    COMPANY = "company"
    SITE = "site"
    ENDPOINT = "endpoint"


#: Per-request caps on ``resources`` for each resource type (OpenAPI, device-list request body).
RESOURCE_LIMITS: dict[DeviceResourceType, int] = {
    DeviceResourceType.COMPANY: 4,
    DeviceResourceType.SITE: 10,
    DeviceResourceType.ENDPOINT: 500,
}


class DeviceListRequest(CWModel):
    """Body of the device-list call: ``{"resourceType": ..., "resources": [...]}``."""

    resource_type: DeviceResourceType
    resources: list[str]


class OperatingSystem(CWModel):
    product: str | None = None
    version: str | None = None
    build_number: str | None = None
    display_version: str | None = None
    type: str | None = None
    arch: str | None = None
    manufacturer: str | None = None
    service_pack: str | None = None
    install_date: str | None = None


class SystemInfo(CWModel):
    product: str | None = None
    model: str | None = None
    serial_number: str | None = None
    system_name: str | None = None
    domain: str | None = None
    time_zone: str | None = None
    chassis: str | None = None
    system_type: str | None = None


class Bios(CWModel):
    product: str | None = None
    manufacturer: str | None = None
    version: str | None = None
    serial_number: str | None = None


class Processor(CWModel):
    product: str | None = None
    manufacturer: str | None = None
    number_of_cores: int | None = None
    number_of_logical_processors: int | None = None
    clock_speed_mhz: float | None = None


class MemoryModule(CWModel):
    size_bytes: int | None = None
    manufacturer: str | None = None
    slot: str | None = None
    type: str | None = None


class LogicalVolume(CWModel):
    name: str | None = None
    description: str | None = None
    capacity: int | None = None
    free_space_bytes: int | None = None
    used_space_bytes: int | None = None


class NetworkAdapter(CWModel):
    product: str | None = None
    vendor: str | None = None
    logical_name: str | None = None
    mac_address: str | None = None
    ipv4: str | None = None
    ipv4_list: list[str] = Field(default_factory=list)
    dhcp_enabled: bool | None = None
    default_ip_gateway: str | None = Field(default=None, alias="defaultIPGateway")


class AntiVirus(CWModel):
    name: str | None = None
    version: str | None = None


class EndpointMapping(CWModel):
    vendor_name: str | None = None
    vendor_id: str | None = Field(default=None, alias="vendorID")


class Device(CWModel):
    """One endpoint from the device list, with the company/site/category of the group it came in."""

    endpoint_id: str = Field(alias="endpointID")
    device_name: str | None = None
    friendly_name: str | None = None
    resource_type: str | None = None
    endpoint_type: str | None = None
    ip_address: list[str] = Field(default_factory=list)
    mac_address: list[str] = Field(default_factory=list)
    remote_address: str | None = None
    type: str | None = None
    sub_resource_type: str | None = None
    virtual_type: str | None = None
    created_at: str | None = None
    modified_at: str | None = None
    agent_installed_utc: str | None = Field(default=None, alias="agentInstalledUTC")
    os: OperatingSystem | None = None
    system: SystemInfo | None = None
    company_id: str | None = Field(default=None, alias="companyID")
    site_id: str | None = Field(default=None, alias="siteID")
    category: DeviceCategory | None = None

    @property
    def name(self) -> str:
        """The best display name: friendly name, device name, then id."""
        return self.friendly_name or self.device_name or self.endpoint_id

    def brief(self) -> DeviceBrief:
        """The list-row form: ids, names, type, OS and addresses."""
        return DeviceBrief(
            endpoint_id=self.endpoint_id,
            name=self.name,
            device_name=self.device_name,
            endpoint_type=self.endpoint_type,
            company_id=self.company_id,
            site_id=self.site_id,
            os=self.os.product if self.os else None,
            serial_number=self.system.serial_number if self.system else None,
            ip_addresses=self.ip_address[:4],
        )


class DeviceBrief(CWModel):
    """One endpoint in a device list, trimmed."""

    endpoint_id: str
    name: str
    device_name: str | None = None
    endpoint_type: str | None = None
    company_id: str | None = None
    site_id: str | None = None
    os: str | None = None
    serial_number: str | None = None
    ip_addresses: list[str] = Field(default_factory=list)


class EndpointGroup(CWModel):
    """One company/site group of the device list."""

    company_id: str | None = Field(default=None, alias="companyID")
    site_id: str | None = Field(default=None, alias="siteID")
    endpoints: list[Device] = Field(default_factory=list)


class EndpointListResponse(CWModel):
    """A device-list page: ``{"platform": [...], "network": [...], "cloud": [...]}``."""

    platform: list[EndpointGroup] = Field(default_factory=list)
    network: list[EndpointGroup] = Field(default_factory=list)
    cloud: list[EndpointGroup] = Field(default_factory=list)

    def devices(self) -> list[Device]:
        """Flatten the groups, stamping each device with its company, site and category."""
        rows: list[Device] = []
        for category, groups in (
            (DeviceCategory.PLATFORM, self.platform),
            (DeviceCategory.NETWORK, self.network),
            (DeviceCategory.CLOUD, self.cloud),
        ):
            for group in groups:
                for device in group.endpoints:
                    update = {
                        "company_id": device.company_id or group.company_id,
                        "site_id": device.site_id or group.site_id,
                        "category": category,
                    }
                    rows.append(device.model_copy(update=update))
        return rows


class PlatformDetail(CWModel):
    """The ``platform`` section of an endpoint's details (hardware, OS, network inventory)."""

    device_name: str | None = None
    friendly_name: str | None = None
    endpoint_type: str | None = None
    ip_address: list[str] = Field(default_factory=list)
    mac_address: list[str] = Field(default_factory=list)
    remote_address: str | None = None
    agent_installed_utc: str | None = Field(default=None, alias="agentInstalledUTC")
    os: OperatingSystem | None = None
    system: SystemInfo | None = None
    bios: Bios | None = None
    processors: list[Processor] = Field(default_factory=list)
    physical_memory: list[MemoryModule] = Field(default_factory=list)
    logical_volume: list[LogicalVolume] = Field(default_factory=list)
    networks: list[NetworkAdapter] = Field(default_factory=list)
    anti_viruses: list[AntiVirus] = Field(default_factory=list)


class DeviceDetail(CWModel):
    """``GET .../companies/{c}/sites/{s}/endpoints/{e}``. Large sections we do not model are dropped."""

    company_id: str | None = Field(
        default=None, alias="companyID", validation_alias=AliasChoices("companyID", "clientId", "clientID")
    )
    site_id: str | None = Field(default=None, alias="siteID", validation_alias=AliasChoices("siteID", "siteId"))
    endpoint_id: str = Field(alias="endpointID", validation_alias=AliasChoices("endpointID", "endpointId"))
    reg_id: str | None = None
    endpoint_type: str | None = None
    os_type: str | None = None
    endpoint_mapping: list[EndpointMapping] = Field(default_factory=list)
    platform: PlatformDetail | None = None

    def summary(self) -> DeviceSummary:
        """Hardware, OS and network facts in a few hundred bytes."""
        p = self.platform or PlatformDetail()
        os_text = (
            " ".join(part for part in (p.os.product, p.os.display_version or p.os.version) if part) if p.os else None
        )
        memory = sum(m.size_bytes or 0 for m in p.physical_memory) or None
        return DeviceSummary(
            endpoint_id=self.endpoint_id,
            company_id=self.company_id,
            site_id=self.site_id,
            name=p.friendly_name or p.device_name or self.endpoint_id,
            device_name=p.device_name,
            endpoint_type=self.endpoint_type or p.endpoint_type,
            os=os_text or None,
            manufacturer=p.bios.manufacturer if p.bios else None,
            model=p.system.model if p.system else None,
            serial_number=(p.system.serial_number if p.system else None) or (p.bios.serial_number if p.bios else None),
            domain=p.system.domain if p.system else None,
            processors=[proc.product for proc in p.processors if proc.product],
            total_memory_bytes=memory,
            volumes=[
                VolumeSummary(name=v.name, capacity_bytes=v.capacity, free_bytes=v.free_space_bytes)
                for v in p.logical_volume
            ],
            ip_addresses=p.ip_address,
            remote_address=p.remote_address,
            antivirus=[a.name for a in p.anti_viruses if a.name],
            agent_installed_utc=p.agent_installed_utc,
        )


class VolumeSummary(CWModel):
    name: str | None = None
    capacity_bytes: int | None = None
    free_bytes: int | None = None


class DeviceSummary(CWModel):
    """Trimmed endpoint details."""

    endpoint_id: str
    company_id: str | None = None
    site_id: str | None = None
    name: str
    device_name: str | None = None
    endpoint_type: str | None = None
    os: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    domain: str | None = None
    processors: list[str] = Field(default_factory=list)
    total_memory_bytes: int | None = None
    volumes: list[VolumeSummary] = Field(default_factory=list)
    ip_addresses: list[str] = Field(default_factory=list)
    remote_address: str | None = None
    antivirus: list[str] = Field(default_factory=list)
    agent_installed_utc: str | None = None


class DeviceGroup(CWModel):
    """A static or dynamic device group (``GET /api/platform/v1/device-groups``)."""

    id: str
    name: str | None = None
    description: str | None = None
    predefined: bool | None = None
    static: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None
