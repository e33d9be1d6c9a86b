"""First start of a fresh database: the first organisation and an initial admin with a generated password."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.auth.service import create_user
from hub.core.models import User
from hub.core.roles import Role
from hub.core.security import generate_password
from hub.core.tenancy import create_organization, first_organization

INITIAL_ADMIN = "admin"


@dataclass(frozen=True)
class InitialAdmin:
    """The one-time credentials printed on first start (only the hash is stored)."""

    username: str
    password: str


async def bootstrap(session: AsyncSession, *, org_name: str = "My MSP") -> InitialAdmin | None:
    """Create the first organisation and admin when there are no users; None when already set up."""
    users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
    if users:
        return None
    org = await first_organization(session) or await create_organization(session, name=org_name)
    password = generate_password()
    await create_user(
        session, org_id=org.id, username=INITIAL_ADMIN, password=password, role=Role.ADMIN, display_name="Administrator"
    )
    return InitialAdmin(INITIAL_ADMIN, password)
