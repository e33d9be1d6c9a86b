"""Companies (clients) and sites: ``/api/platform/v1/company/...`` (reference §3.1)."""

from __future__ import annotations

from pydantic import Field

from connectors.connectwise_rmm.client.schemas.base import CWModel, IdName


class ActivityStatus(CWModel):
    """A company's activity status (``Active``, ...)."""

    id: str | None = None
    name: str | None = None
    active_flag: bool | None = None
    default_flag: bool | None = None


class EmailAddress(CWModel):
    email_address: str | None = None


class PhoneNumber(CWModel):
    national_number: str | None = None
    country_code: str | None = None


class Contact(CWModel):
    """A company's or site's primary contact."""

    id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    primary_email: EmailAddress | None = None
    primary_phone_number: PhoneNumber | None = None

    @property
    def display_name(self) -> str | None:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or None


class ExternalId(CWModel):
    """An id of the company or site in another ConnectWise product (Manage, Automate...)."""

    company_id: str | None = None
    external_id: str | None = None
    product_id: str | None = None
    product_instance_id: str | None = None


class SiteRef(CWModel):
    """The primary site embedded in a company."""

    id: str
    name: str | None = None
    friendly_name: str | None = None
    time_zone: str | None = None


class Company(CWModel):
    """A company (client) of the partner. ``id`` appears as ``companyID``/``clientID`` elsewhere."""

    id: str
    name: str | None = None
    friendly_name: str | None = None
    partner_id: str | None = None
    description: str | None = None
    activity_status: ActivityStatus | None = None
    primary_site: SiteRef | None = None
    primary_contact: Contact | None = None
    external_ids: list[ExternalId] = Field(default_factory=list)
    created_date: str | None = None
    updated_date: str | None = None
    inactive_date: str | None = None
    deleted_date: str | None = None

    @property
    def active(self) -> bool | None:
        if self.activity_status is not None and self.activity_status.active_flag is not None:
            return self.activity_status.active_flag
        return None if self.inactive_date is None else False

    def summary(self) -> CompanySummary:
        """The fields a technician or an assistant needs to pick this company."""
        contact = self.primary_contact
        return CompanySummary(
            id=self.id,
            name=self.name,
            friendly_name=self.friendly_name,
            active=self.active,
            primary_site_id=self.primary_site.id if self.primary_site else None,
            primary_site_name=self.primary_site.name if self.primary_site else None,
            primary_contact=contact.display_name if contact else None,
            primary_contact_email=(contact.primary_email.email_address if contact and contact.primary_email else None),
        )


class CompanySummary(CWModel):
    """Trimmed company."""

    id: str
    name: str | None = None
    friendly_name: str | None = None
    active: bool | None = None
    primary_site_id: str | None = None
    primary_site_name: str | None = None
    primary_contact: str | None = None
    primary_contact_email: str | None = None


class CompanyRef(CWModel):
    """The owning company embedded in a site."""

    id: str
    name: str | None = None
    friendly_name: str | None = None


class Site(CWModel):
    """A site (location) of a company."""

    id: str
    name: str | None = None
    friendly_name: str | None = None
    company: CompanyRef | None = None
    time_zone: str | None = None
    active_flag: bool | None = None
    primary_flag: bool | None = None
    type: IdName | None = None
    primary_contact: Contact | None = None
    external_ids: list[ExternalId] = Field(default_factory=list)
    created_date: str | None = None
    updated_date: str | None = None

    def summary(self) -> SiteSummary:
        """The fields a technician or an assistant needs to pick this site."""
        return SiteSummary(
            id=self.id,
            name=self.name,
            friendly_name=self.friendly_name,
            company_id=self.company.id if self.company else None,
            company_name=self.company.name if self.company else None,
            active=self.active_flag,
            primary=self.primary_flag,
            time_zone=self.time_zone,
        )


class SiteSummary(CWModel):
    """Trimmed site."""

    id: str
    name: str | None = None
    friendly_name: str | None = None
    company_id: str | None = None
    company_name: str | None = None
    active: bool | None = None
    primary: bool | None = None
    time_zone: str | None = None
