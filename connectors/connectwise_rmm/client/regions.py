"""ConnectWise RMM (Asio) regions and their API hosts (reference §1.3, OpenAPI ``servers``)."""

from __future__ import annotations

from enum import StrEnum


class Region(StrEnum):
    """The Asio region an API key belongs to. ``au`` is the default, as on the connection form."""

    AU = "au"
    NA = "na"
    EU = "eu"

    @property
    def api_base_url(self) -> str:
        """The partner API host for this region (``/v1/token`` and ``/api/platform/...`` live under it)."""
        return _API_BASE_URLS[self]

    @property
    def console_host(self) -> str:
        """The Asio console host, for messages that tell an admin where to go."""
        return _CONSOLE_HOSTS[self]


DEFAULT_REGION = Region.AU

_API_BASE_URLS: dict[Region, str] = {
    Region.NA: "https://openapi.service.itsupport247.net",
    Region.EU: "https://openapi.service.euplatform.connectwise.com",
    Region.AU: "https://openapi.service.auplatform.connectwise.com",
}

_CONSOLE_HOSTS: dict[Region, str] = {
    Region.NA: "itsupport247.net",
    Region.EU: "euplatform.connectwise.com",
    Region.AU: "auplatform.connectwise.com",
}

# Third-party claims only (REVIO, MSPB README; reference §1.3): not documented by ConnectWise.
_CLIENT_ID_PREFIXES: dict[str, Region] = {"0e30": Region.NA, "0e31": Region.EU, "0e32": Region.AU}


def guess_region_from_client_id(client_id: str) -> Region | None:
    """Guess the region from the first four characters of a Client ID.

    The prefixes (``0e30`` NA, ``0e31`` EU, ``0e32`` AU) come from two independent third-party
    integrations, not from ConnectWise, so use the result only to pre-fill a form the user can change.

    Args:
        client_id: The Asio Client ID.

    Returns:
        The guessed region, or ``None`` when the prefix is not one we know.
    """
    return _CLIENT_ID_PREFIXES.get(client_id.strip().lower()[:4])
