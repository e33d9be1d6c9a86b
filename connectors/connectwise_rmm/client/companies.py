"""Company and site calls (reference §3.1), mixed into :class:`~connectors.connectwise_rmm.client.ConnectWiseClient`."""

from __future__ import annotations

from connectors.connectwise_rmm.client.schemas import Company, Site
from connectors.connectwise_rmm.client.session import ConnectWiseSession, parse_list, parse_model

COMPANIES_PATH = "/api/platform/v1/company/companies"
SITES_PATH = "/api/platform/v1/company/sites"


async def fetch_companies(session: ConnectWiseSession) -> list[Company]:
    """All companies of the partner.

    The spec returns a bare array with no paging; whether large tenants page with ``Link`` is unknown
    (reference §4, item 3), so a ``Link: rel="next"`` is followed when present.
    """
    pages = await session.get_linked_pages(COMPANIES_PATH)
    return [c for page in pages for c in parse_list(Company, page, what="companies", keys=("companies",))]


class CompanyMethods:
    """Companies and sites."""

    _session: ConnectWiseSession

    async def list_companies(self) -> list[Company]:
        """List every company (client) of the partner."""
        return await fetch_companies(self._session)

    async def get_company(self, company_id: str) -> Company:
        """Get one company.

        Raises:
            NotFoundError: No such company visible to this key.
        """
        data = await self._session.get_json(f"{COMPANIES_PATH}/{company_id}")
        return parse_model(Company, data, what="company")

    async def list_sites(self, company_id: str | None = None) -> list[Site]:
        """List the sites of one company, or of the whole partner when ``company_id`` is ``None``.

        Follows a ``Link`` next page if one appears, as for companies.
        """
        path = f"{COMPANIES_PATH}/{company_id}/sites" if company_id else SITES_PATH
        pages = await self._session.get_linked_pages(path)
        return [s for page in pages for s in parse_list(Site, page, what="sites", keys=("sites",))]
