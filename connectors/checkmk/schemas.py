"""Wire models of Checkmk's REST API 1.0 (only the fields the connector reads; the rest is ignored).

Collections answer ``{"domainType", "value": [domain objects], "links"}``; a domain object is
``{"domainType", "id", "title", "links", "members", "extensions"}``. Monitoring objects (``host``,
``service``) carry the requested Livestatus columns in ``extensions``; ``host_config`` objects carry
``folder`` and ``attributes`` there.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class HostStateCode(IntEnum):
    """Livestatus ``hosts.state``."""

    UP = 0
    DOWN = 1
    UNREACHABLE = 2


class ServiceStateCode(IntEnum):
    """Livestatus ``services.state``."""

    OK = 0
    WARN = 1
    CRIT = 2
    UNKNOWN = 3


#: Columns asked of ``GET /domain-types/host/collections/all`` (``name`` is mandatory in Checkmk).
HOST_COLUMNS = (
    "name",
    "state",
    "has_been_checked",
    "plugin_output",
    "last_check",
    "num_services_ok",
    "num_services_warn",
    "num_services_crit",
    "num_services_unknown",
    "num_services_pending",
)
#: Columns asked of ``GET /objects/host/{host_name}/collections/services``.
SERVICE_COLUMNS = ("host_name", "description", "state", "has_been_checked", "plugin_output", "last_check")


class DomainObject(_Wire):
    """One object of a collection."""

    domainType: str = ""
    id: str = ""
    title: str = ""
    extensions: dict[str, Any] = Field(default_factory=dict)


class Collection(_Wire):
    """A collection answer."""

    domainType: str = ""
    value: list[DomainObject] = Field(default_factory=list)


class HostAttributes(_Wire):
    alias: str | None = None
    ipaddress: str | None = None


class HostConfigExtensions(_Wire):
    folder: str = ""
    attributes: HostAttributes = Field(default_factory=HostAttributes)


class HostConfig(_Wire):
    """A configured host (``host_config``): name, folder, alias and address."""

    name: str
    folder: str = ""
    alias: str | None = None
    ipaddress: str | None = None


class HostStatus(_Wire):
    """A monitored host's state (``host`` with :data:`HOST_COLUMNS`)."""

    name: str
    state: int = 0
    has_been_checked: int = 1
    plugin_output: str = ""
    last_check: int = 0
    num_services_ok: int = 0
    num_services_warn: int = 0
    num_services_crit: int = 0
    num_services_unknown: int = 0
    num_services_pending: int = 0


class ServiceStatus(_Wire):
    """A monitored service (``service`` with :data:`SERVICE_COLUMNS`)."""

    host_name: str = ""
    description: str
    state: int = 0
    has_been_checked: int = 1
    plugin_output: str = ""
    last_check: int = 0


class InstalledVersions(_Wire):
    """``GET /version``: the site and its Checkmk version."""

    site: str = ""
    versions: dict[str, Any] = Field(default_factory=dict)
    edition: str = ""

    @property
    def checkmk(self) -> str:
        """The Checkmk version string (``2.3.0p5``), or ``""``."""
        return str(self.versions.get("checkmk", ""))
