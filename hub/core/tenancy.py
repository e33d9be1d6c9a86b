"""Organisations, customers and sites. Every organisation starts with an ``Unassigned`` customer and site."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hub.core.db import get_in_org
from hub.core.errors import Conflict, NotFound
from hub.core.models import UNASSIGNED, Customer, Organization, Site


def slugify(text: str) -> str:
    """Lower-case ``text`` with runs of anything but letters and digits turned into single dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "org"


async def create_organization(session: AsyncSession, *, name: str) -> Organization:
    """Create an organisation with its ``Unassigned`` customer and site."""
    slug = slugify(name)
    if (await session.execute(select(Organization).where(Organization.slug == slug))).scalar_one_or_none():
        raise Conflict(f"an organisation with the slug {slug!r} already exists")
    org = Organization(name=name, slug=slug)
    session.add(org)
    await session.flush()
    unassigned = Customer(org_id=org.id, name=UNASSIGNED, is_unassigned=True)
    session.add(unassigned)
    await session.flush()
    session.add(Site(customer_id=unassigned.id, name=UNASSIGNED))
    await session.flush()
    return org


async def first_organization(session: AsyncSession) -> Organization | None:
    """The oldest organisation (the one ``make run`` creates), if any."""
    return (await session.execute(select(Organization).order_by(Organization.id).limit(1))).scalar_one_or_none()


async def unassigned_site(session: AsyncSession, org_id: int) -> Site:
    """The ``Unassigned`` site of an organisation, where devices from the Base installer land."""
    stmt = (
        select(Site)
        .join(Customer)
        .where(Customer.org_id == org_id, Customer.is_unassigned.is_(True))
        .order_by(Site.id)
        .limit(1)
    )
    site = (await session.execute(stmt)).scalar_one_or_none()
    if site is None:
        raise NotFound(f"organisation {org_id} has no Unassigned site")
    return site


async def list_customers(session: AsyncSession, org_id: int) -> Sequence[Customer]:
    """Customers of an organisation with their sites, Unassigned first then by name."""
    stmt = (
        select(Customer)
        .where(Customer.org_id == org_id)
        .options(selectinload(Customer.sites))
        .order_by(Customer.is_unassigned.desc(), Customer.name)
    )
    return (await session.execute(stmt)).scalars().all()


async def get_customer(session: AsyncSession, org_id: int, customer_id: int) -> Customer:
    """One customer of the organisation, or :class:`NotFound`."""
    customer = await get_in_org(session, Customer, customer_id, org_id)
    if customer is None:
        raise NotFound(f"customer #{customer_id} does not exist")
    return customer


async def create_customer(session: AsyncSession, *, org_id: int, name: str, first_site: str = "Main") -> Customer:
    """Add a customer (with a first site, ``Main`` unless named)."""
    exists = await session.execute(select(Customer).where(Customer.org_id == org_id, Customer.name == name))
    if exists.scalar_one_or_none():
        raise Conflict(f"customer {name!r} already exists")
    customer = Customer(org_id=org_id, name=name)
    session.add(customer)
    await session.flush()
    session.add(Site(customer_id=customer.id, name=first_site))
    await session.flush()
    return customer


async def create_site(session: AsyncSession, *, org_id: int, customer_id: int, name: str) -> Site:
    """Add a site to a customer of the organisation."""
    customer = await get_customer(session, org_id, customer_id)
    exists = await session.execute(select(Site).where(Site.customer_id == customer.id, Site.name == name))
    if exists.scalar_one_or_none():
        raise Conflict(f"site {name!r} already exists for {customer.name}")
    site = Site(customer_id=customer.id, name=name)
    session.add(site)
    await session.flush()
    return site


async def get_site(session: AsyncSession, org_id: int, site_id: int) -> Site:
    """One site of the organisation, or :class:`NotFound`."""
    stmt = select(Site).join(Customer).where(Site.id == site_id, Customer.org_id == org_id)
    site = (await session.execute(stmt)).scalar_one_or_none()
    if site is None:
        raise NotFound(f"site #{site_id} does not exist")
    return site
