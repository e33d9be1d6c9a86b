"""Installer routes (endpoint-facing, so they live with the agent API): the per-OS install scripts (public, by token) and Admin -> Agent installers (REST)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from agent.installers.render import InstallerError, InstallerOs, render_installer
from hub.core.bounds import Id
from hub.core.caller import CallerKind
from hub.core.deps import AdminDep, SessionDep, hub_of
from native_rmm.errors import AgentRequestError
from native_rmm.installers import service
from native_rmm.installers.binary import available_binaries
from native_rmm.installers.uv import UV_PLATFORMS, staged_uv
from native_rmm.plane import DevicePlane

router = APIRouter(tags=["rmm-installers"])
SCRIPT_TYPES = {"windows": "text/plain; charset=utf-8", "linux": "text/x-shellscript", "macos": "text/x-shellscript"}


def _plane(request: Request) -> DevicePlane:
    plane = hub_of(request).components.get(DevicePlane)
    return plane


@router.get(
    "/install/{token}/{os}",
    response_class=PlainTextResponse,
    responses={
        403: {"description": "the installer is revoked, expired or used up", "content": {"text/plain": {}}},
        404: {"description": "no such installer token", "content": {"text/plain": {}}},
    },
)
async def install_script(token: str, os: Literal["linux", "macos", "windows"], request: Request) -> PlainTextResponse:
    """The installer script for ``os`` (what ``curl ... | sudo bash`` / ``iwr ... | iex`` runs)."""
    plane = _plane(request)
    try:
        async with plane.db.transaction() as session:
            installer = await service.usable_installer(session, token)
            quick = installer.quick_support
        dist = plane.settings.agent_dist_dir
        binaries = {arch: b.sha256 for arch, b in available_binaries(dist).items()}
        uv = {p: staged.sha256 for p in UV_PLATFORMS if (staged := staged_uv(dist, p)) is not None}
        script = render_installer(
            os, hub_url=plane.public_url(str(request.base_url)), token=token, quick_support=quick,
            binaries=binaries, uv=uv, python_mirror=plane.settings.agent_python_mirror,
        )  # fmt: skip
    except AgentRequestError as exc:
        return PlainTextResponse(f"rmmhub: {exc.message}\n", status_code=404 if exc.status_code == 401 else 403)
    except InstallerError as exc:
        return PlainTextResponse(f"rmmhub: cannot render the installer: {exc}\n", status_code=500)
    return PlainTextResponse(script, media_type=SCRIPT_TYPES[os])


class RustDeskBody(BaseModel):
    """An installer's RustDesk option (empty servers: RustDesk's public ones)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    id_server: str = Field(default="", max_length=255, description="host or host:port of the ID (hbbs) server")
    relay_server: str = Field(default="", max_length=255, description="host or host:port of the relay (hbbr)")
    key: str = Field(default="", max_length=255, description="the server's public key (id_ed25519.pub)")

    def option(self) -> service.RustDeskOption:
        return service.RustDeskOption(self.enabled, self.id_server, self.relay_server, self.key)


class InstallerOut(BaseModel):
    """An installer as Admin -> Agent installers shows it."""

    id: int
    name: str
    kind: str
    customer_id: Id | None
    site_id: Id | None
    quick_support: bool
    token: str
    url: str
    commands: dict[InstallerOs, str]
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked: bool
    created_by: str
    created_at: datetime
    rustdesk: RustDeskBody

    @classmethod
    def of(cls, view: service.InstallerView, base_url: str) -> InstallerOut:
        i = view.installer
        return cls(
            id=i.id, name=i.name, kind=i.kind.value, customer_id=i.customer_id, site_id=i.site_id,
            quick_support=i.quick_support, token=view.token, url=service.installer_url(base_url, view.token),
            commands=view.commands, expires_at=i.expires_at, max_uses=i.max_uses, uses=i.uses,
            revoked=i.revoked_at is not None, created_by=i.created_by, created_at=i.created_at,
            rustdesk=RustDeskBody(enabled=i.rustdesk_enabled, id_server=i.rustdesk_id_server,
                                  relay_server=i.rustdesk_relay_server, key=i.rustdesk_key),
        )  # fmt: skip


class InstallerCreate(BaseModel):
    """Body of ``POST /api/v1/rmm/installers``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    customer_id: Id | None = None
    site_id: Id | None = None
    expires_at: datetime | None = None
    max_uses: Id | None = None
    quick_support: bool = False
    rustdesk: RustDeskBody | None = None


@router.get("/api/v1/rmm/installers", response_model=list[InstallerOut])
async def list_installers(
    request: Request, session: SessionDep, admin: AdminDep, include_revoked: bool = False
) -> list[InstallerOut]:
    """Installers of the organisation with their per-OS install commands (admin)."""
    base = _plane(request).public_url(str(request.base_url))
    installers = await service.list_installers(session, org_id=admin.user.org_id, include_revoked=include_revoked)
    return [InstallerOut.of(service.view(session, i, base_url=base), base) for i in installers]


@router.post("/api/v1/rmm/installers", response_model=InstallerOut, status_code=201)
async def create_installer(
    request: Request, body: InstallerCreate, session: SessionDep, admin: AdminDep
) -> InstallerOut:
    """Create a scoped installer (admin; audited)."""
    caller = admin.caller(CallerKind.API)
    installer = await service.create_installer(
        session, org_id=caller.org_id, name=body.name, actor=caller.actor, customer_id=body.customer_id,
        site_id=body.site_id, expires_at=body.expires_at, max_uses=body.max_uses, quick_support=body.quick_support,
        rustdesk=body.rustdesk.option() if body.rustdesk else None,
    )  # fmt: skip
    base = _plane(request).public_url(str(request.base_url))
    return InstallerOut.of(service.view(session, installer, base_url=base), base)


@router.post("/api/v1/rmm/installers/{installer_id}/revoke", response_model=InstallerOut)
async def revoke_installer(request: Request, installer_id: Id, session: SessionDep, admin: AdminDep) -> InstallerOut:
    """Revoke a scoped installer (admin; audited)."""
    caller = admin.caller(CallerKind.API)
    installer = await service.revoke_installer(
        session, org_id=caller.org_id, installer_id=installer_id, actor=caller.actor
    )
    base = _plane(request).public_url(str(request.base_url))
    return InstallerOut.of(service.view(session, installer, base_url=base), base)


@router.post("/api/v1/rmm/installers/{installer_id}/regenerate", response_model=InstallerOut)
async def regenerate_installer(
    request: Request, installer_id: Id, session: SessionDep, admin: AdminDep
) -> InstallerOut:
    """Give an installer a new token; previously copied commands stop working (admin; audited)."""
    caller = admin.caller(CallerKind.API)
    installer = await service.regenerate_token(
        session, org_id=caller.org_id, installer_id=installer_id, actor=caller.actor
    )
    base = _plane(request).public_url(str(request.base_url))
    return InstallerOut.of(service.view(session, installer, base_url=base), base)


@router.put("/api/v1/rmm/installers/{installer_id}/rustdesk", response_model=InstallerOut)
async def set_installer_rustdesk(
    request: Request, installer_id: Id, body: RustDeskBody, session: SessionDep, admin: AdminDep
) -> InstallerOut:
    """Opt an installer (the Base one too) in to or out of RustDesk for devices it enrolls from now on (admin; audited)."""
    caller = admin.caller(CallerKind.API)
    installer = await service.set_rustdesk(
        session, org_id=caller.org_id, installer_id=installer_id, option=body.option(), actor=caller.actor
    )
    base = _plane(request).public_url(str(request.base_url))
    return InstallerOut.of(service.view(session, installer, base_url=base), base)
