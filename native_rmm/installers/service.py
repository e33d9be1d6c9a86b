"""Installers: the always-present Base installer per organisation and scoped ones (admin-managed).

The token is shown in install commands, so it is kept encrypted (``SecretBox``, key from the
hub secret) besides its lookup hash. Enrollment consumes a use atomically (``uses < max_uses`` in
the UPDATE itself), so two agents racing for the last use cannot both get in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent.installers.render import InstallerOs, install_command
from agent.protocol import ErrorCode
from hub.core import audit
from hub.core.audit import Actor, AuditEvent
from hub.core.db import get_in_org, utcnow
from hub.core.errors import Conflict, NotFound, ToolError
from hub.core.models import Customer, Site
from hub.core.security import SecretBox, generate_token, hash_token
from hub.core.tenancy import get_customer, get_site, unassigned_site
from hub.core.uow import scope_of
from native_rmm.errors import AgentRequestError
from native_rmm.models.installers import Installer, InstallerKind

INSTALLER_OSES: tuple[InstallerOs, ...] = ("linux", "macos", "windows")
TOKEN_PREFIX = "rmi_"
BASE_NAME = "Base installer"


def _box(session: AsyncSession) -> SecretBox:
    return SecretBox(scope_of(session).secret_key)


def installer_token(session: AsyncSession, installer: Installer) -> str:
    """The plain token of an installer (decrypted for display in Admin -> Agent installers)."""
    return _box(session).decrypt(installer.token_encrypted)


def installer_url(base_url: str, token: str) -> str:
    """``<hub>/install/<token>``: the base every per-OS command appends ``/linux|macos|windows`` to."""
    return f"{base_url.rstrip('/')}/install/{token}"


def install_commands(base_url: str, token: str, *, quick_support: bool = False) -> dict[InstallerOs, str]:
    """The copy-paste one-liner for each OS (quick-support sessions run without sudo)."""
    url = installer_url(base_url, token)
    return {os: install_command(os, url, quick_support=quick_support) for os in INSTALLER_OSES}


@dataclass(frozen=True)
class InstallerView:
    """An installer with its plain token and commands (admin pages and REST)."""

    installer: Installer
    token: str
    commands: dict[InstallerOs, str]


def view(session: AsyncSession, installer: Installer, *, base_url: str) -> InstallerView:
    """Decrypt the token and build the per-OS commands."""
    token = installer_token(session, installer)
    return InstallerView(installer, token, install_commands(base_url, token, quick_support=installer.quick_support))


def _new_token(session: AsyncSession) -> tuple[str, str, str, str]:
    plain = generate_token(TOKEN_PREFIX)
    return plain, hash_token(plain), _box(session).encrypt(plain), plain[:12]


async def ensure_base_installer(session: AsyncSession, *, org_id: int) -> Installer:
    """The organisation's Base installer, created on first use (devices land in Unassigned)."""
    existing = (await session.execute(select(Installer).where(Installer.base_org_id == org_id))).scalar_one_or_none()
    if existing is not None:
        return existing
    _, token_hash, encrypted, prefix = _new_token(session)
    installer = Installer(
        org_id=org_id,
        name=BASE_NAME,
        kind=InstallerKind.BASE,
        base_org_id=org_id,
        token_hash=token_hash,
        token_encrypted=encrypted,
        token_prefix=prefix,
        uses=0,
    )
    session.add(installer)
    await session.flush()
    return installer


async def list_installers(session: AsyncSession, *, org_id: int, include_revoked: bool = False) -> Sequence[Installer]:
    """Installers of an organisation, Base first, then newest first."""
    await ensure_base_installer(session, org_id=org_id)
    stmt = select(Installer).where(Installer.org_id == org_id)
    if not include_revoked:
        stmt = stmt.where(Installer.revoked_at.is_(None))
    stmt = stmt.order_by(Installer.base_org_id.is_(None), Installer.id.desc())
    return (await session.execute(stmt)).scalars().all()


async def get_installer(session: AsyncSession, *, org_id: int, installer_id: int) -> Installer:
    """One installer of the organisation, or :class:`NotFound`."""
    installer = await get_in_org(session, Installer, installer_id, org_id)
    if installer is None:
        raise NotFound(f"installer #{installer_id} does not exist")
    return installer


async def create_installer(
    session: AsyncSession,
    *,
    org_id: int,
    name: str,
    actor: Actor,
    customer_id: int | None = None,
    site_id: int | None = None,
    expires_at: datetime | None = None,
    max_uses: int | None = None,
    quick_support: bool = False,
    rustdesk: RustDeskOption | None = None,
) -> Installer:
    """Create a scoped installer (customer and/or site; optional expiry, use limit and RustDesk)."""
    rustdesk = rustdesk.checked() if rustdesk is not None else RustDeskOption(enabled=False)
    if rustdesk.enabled and quick_support:
        raise ToolError("RustDesk is for permanent agents; a quick-support installer cannot install it")
    if site_id is not None:
        site = await get_site(session, org_id, site_id)
        if customer_id is not None and site.customer_id != customer_id:
            raise ToolError(f"site #{site_id} does not belong to customer #{customer_id}")
        customer_id = site.customer_id
        if site.archived_at is not None:
            raise ToolError(f"site {site.name} is archived; restore it before making an installer for it")
    if customer_id is not None:
        customer = await get_customer(session, org_id, customer_id)
        if customer.archived_at is not None:
            raise ToolError(f"{customer.name} is archived; restore it before making an installer for it")
    if max_uses is not None and max_uses < 1:
        raise ToolError("max_uses must be at least 1 (leave it empty for no limit)")
    if expires_at is not None and expires_at <= utcnow():
        raise ToolError("expires_at must be in the future")
    _, token_hash, encrypted, prefix = _new_token(session)
    installer = Installer(
        org_id=org_id,
        name=name.strip() or "Installer",
        kind=InstallerKind.SCOPED,
        customer_id=customer_id,
        site_id=site_id,
        expires_at=expires_at,
        max_uses=max_uses,
        quick_support=quick_support,
        uses=0,
        token_hash=token_hash,
        token_encrypted=encrypted,
        token_prefix=prefix,
        created_by=actor.label,
    )
    _apply_rustdesk(installer, rustdesk)
    session.add(installer)
    await session.flush()
    audit.record(
        session,
        event=AuditEvent.DEVICE_CHANGED,
        actor=actor,
        org_id=org_id,
        outcome="installer.created",
        detail={
            "installer_id": installer.id,
            "name": installer.name,
            "customer_id": customer_id,
            "site_id": site_id,
            "max_uses": max_uses,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "rustdesk": rustdesk.enabled,
        },
    )
    return installer


async def revoke_installer(session: AsyncSession, *, org_id: int, installer_id: int, actor: Actor) -> Installer:
    """Revoke a scoped installer (its token stops enrolling). The Base installer is regenerated instead."""
    installer = await get_installer(session, org_id=org_id, installer_id=installer_id)
    if installer.kind is InstallerKind.BASE:
        raise Conflict("the Base installer cannot be revoked; regenerate its token instead")
    if installer.revoked_at is None:
        installer.revoked_at = utcnow()
        audit.record(
            session,
            event=AuditEvent.DEVICE_CHANGED,
            actor=actor,
            org_id=org_id,
            outcome="installer.revoked",
            detail={"installer_id": installer.id},
        )
    await session.flush()
    return installer


async def regenerate_token(session: AsyncSession, *, org_id: int, installer_id: int, actor: Actor) -> Installer:
    """Give an installer a new token; commands copied before stop working."""
    installer = await get_installer(session, org_id=org_id, installer_id=installer_id)
    _, installer.token_hash, installer.token_encrypted, installer.token_prefix = _new_token(session)
    audit.record(
        session,
        event=AuditEvent.DEVICE_CHANGED,
        actor=actor,
        org_id=org_id,
        outcome="installer.regenerated",
        detail={"installer_id": installer.id},
    )
    await session.flush()
    return installer


_RUSTDESK_SERVER = re.compile(r"^[A-Za-z0-9.:\[\]_-]{0,255}$")
_RUSTDESK_KEY = re.compile(r"^[A-Za-z0-9+/=_-]{0,255}$")


@dataclass(frozen=True)
class RustDeskOption:
    """An installer's RustDesk opt-in: the MSP's ID server, relay server and public key (all optional:
    empty means RustDesk's public servers)."""

    enabled: bool
    id_server: str = ""
    relay_server: str = ""
    key: str = ""

    def checked(self) -> RustDeskOption:
        """Raises ToolError: a server is not ``host[:port]`` or the key is not base64."""
        for label, value in (("ID server", self.id_server), ("relay server", self.relay_server)):
            if not _RUSTDESK_SERVER.fullmatch(value.strip()):
                raise ToolError(f"RustDesk {label} must be host or host:port, got {value[:80]!r}")
        if not _RUSTDESK_KEY.fullmatch(self.key.strip()):
            raise ToolError("the RustDesk key must be the server's public key (base64, as in id_ed25519.pub)")
        if self.key.strip() and not self.id_server.strip():
            raise ToolError("a RustDesk key needs the ID server it belongs to")
        return RustDeskOption(self.enabled, self.id_server.strip(), self.relay_server.strip(), self.key.strip())


async def set_rustdesk(
    session: AsyncSession, *, org_id: int, installer_id: int, option: RustDeskOption, actor: Actor
) -> Installer:
    """Opt an installer (the Base one too) in to RustDesk or out of it; devices enrolled from now on follow."""
    installer = await get_installer(session, org_id=org_id, installer_id=installer_id)
    _apply_rustdesk(installer, option.checked())
    audit.record(
        session,
        event=AuditEvent.DEVICE_CHANGED,
        actor=actor,
        org_id=org_id,
        outcome="installer.rustdesk",
        detail={
            "installer_id": installer.id,
            "enabled": option.enabled,
            "id_server": option.id_server,
            "relay_server": option.relay_server,
        },
    )
    await session.flush()
    return installer


def _apply_rustdesk(installer: Installer, option: RustDeskOption) -> None:
    installer.rustdesk_enabled = option.enabled
    installer.rustdesk_id_server, installer.rustdesk_relay_server = option.id_server, option.relay_server
    installer.rustdesk_key = option.key


def _refused(message: str) -> AgentRequestError:
    return AgentRequestError(403, ErrorCode.INVALID_TOKEN, message)


async def usable_installer(session: AsyncSession, token: str, *, now: datetime | None = None) -> Installer:
    """The installer of ``token`` if it can still enroll (nothing consumed).

    Raises:
        AgentRequestError: 401 unknown token; 403 revoked, expired or used up (the message says which).
    """
    now = now or utcnow()
    installer = (
        await session.execute(select(Installer).where(Installer.token_hash == hash_token(token)))
    ).scalar_one_or_none()
    if installer is None:
        raise AgentRequestError(401, ErrorCode.INVALID_TOKEN, "unknown installer token; copy a current install command")
    if installer.revoked_at is not None:
        raise _refused(f"installer {installer.name!r} was revoked; ask an admin for a new install command")
    if installer.expires_at is not None and installer.expires_at <= now:
        raise _refused(f"installer {installer.name!r} expired at {installer.expires_at.isoformat()}")
    if installer.max_uses is not None and installer.uses >= installer.max_uses:
        raise _used_up(installer)
    return installer


def _used_up(installer: Installer) -> AgentRequestError:
    return _refused(f"installer {installer.name!r} has been used its maximum of {installer.max_uses} times")


async def consume_token(session: AsyncSession, token: str, *, now: datetime | None = None) -> Installer:
    """The installer of ``token`` with one use consumed (atomically against the limit).

    Raises:
        AgentRequestError: as :func:`usable_installer`.
    """
    now = now or utcnow()
    installer = await usable_installer(session, token, now=now)
    consumed = await session.execute(
        update(Installer)
        .where(Installer.id == installer.id, or_(Installer.max_uses.is_(None), Installer.uses < Installer.max_uses))
        .values(uses=Installer.uses + 1, last_used_at=now)
    )
    if consumed.rowcount == 0:  # type: ignore[attr-defined]
        raise _used_up(installer)
    await session.refresh(installer)
    return installer


async def landing_site(session: AsyncSession, installer: Installer) -> int:
    """The site a device enrolled with ``installer`` lands in: its site, its customer's first site, or Unassigned."""
    if installer.site_id is not None:
        return installer.site_id
    if installer.customer_id is not None:
        stmt = (
            select(Site.id)
            .join(Customer)
            .where(Customer.id == installer.customer_id, Customer.org_id == installer.org_id)
            .order_by(Site.id)
            .limit(1)
        )
        site_id = (await session.execute(stmt)).scalar_one_or_none()
        if site_id is not None:
            return site_id
    return (await unassigned_site(session, installer.org_id)).id
