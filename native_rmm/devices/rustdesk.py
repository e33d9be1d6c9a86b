"""RustDesk on enrolled devices: the set-up sent at enrollment, the ID the agent reports, the password.

An installer that opts in (``Installer.rustdesk_enabled``) makes enrollment generate a random
permanent password, store it encrypted (:class:`hub.core.security.SecretBox`, the key the
connector credentials use) in :class:`DeviceRustDesk`, and send it with the ID/relay server, key
and where to fetch the client (:class:`agent.protocol.RustDeskSetup`). The agent reports the ID
(or why it failed) in a check-in. Only admins read the password back, through the
``rmm-reveal-rustdesk-password`` tool (audited by the gate; the password itself is redacted
from the audit entry).

Client packages per kind (``linux-deb``, ``linux-rpm``, ``linux-appimage``, ``windows``,
``macos``): a file staged under ``<agent_dist_dir>/rustdesk/<kind>/`` (served by the hub, its
SHA-256 sent along), else the URL in ``RMMHUB_RMM_RUSTDESK_PACKAGE_URLS``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import API_PREFIX, CommandKind, CommandStatus, RustDeskInstall, RustDeskReport, RustDeskSetup
from hub.core.errors import NotFound
from hub.core.security import SecretBox, generate_password
from hub.core.uow import scope_of
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from native_rmm.models.installers import Installer
from native_rmm.models.rustdesk import DeviceRustDesk
from native_rmm.settings import RmmSettings

PACKAGE_KINDS = ("linux-deb", "linux-rpm", "linux-appimage", "windows", "macos")
DOWNLOAD_PATH = API_PREFIX + "/download/rustdesk"
PASSWORD_LENGTH = 16


@dataclass(frozen=True)
class StagedPackage:
    kind: str
    path: Path
    sha256: str


def staged_package(dist_dir: Path, kind: str) -> StagedPackage | None:
    """The client file staged for ``kind`` (the first file in its folder), or None."""
    if kind not in PACKAGE_KINDS:
        return None
    folder = dist_dir / "rustdesk" / kind
    files = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    if not files:
        return None
    digest = hashlib.sha256()
    with files[0].open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return StagedPackage(kind, files[0], digest.hexdigest())


def packages(settings: RmmSettings) -> tuple[dict[str, str], dict[str, str]]:
    """Where agents fetch the client per kind, and the SHA-256 of the hub-staged ones."""
    urls, sums = dict(settings.rustdesk_package_urls), {}
    for kind in PACKAGE_KINDS:
        staged = staged_package(settings.agent_dist_dir, kind)
        if staged is not None:
            urls[kind] = f"{DOWNLOAD_PATH}/{kind}"
            sums[kind] = staged.sha256
    return urls, sums


def _box(session: AsyncSession) -> SecretBox:
    return SecretBox(scope_of(session).secret_key)


async def enrollment_setup(
    session: AsyncSession, device: Device, installer: Installer, *, settings: RmmSettings
) -> RustDeskSetup | None:
    """For an opted-in installer: a new password (stored encrypted) and the set-up to send; else None."""
    if not installer.rustdesk_enabled or device.quick_support:
        return None
    password = generate_password(PASSWORD_LENGTH)
    session.add(
        DeviceRustDesk(device_id=device.id, org_id=device.org_id, password_encrypted=_box(session).encrypt(password))
    )
    urls, sums = packages(settings)
    return RustDeskSetup(
        id_server=installer.rustdesk_id_server,
        relay_server=installer.rustdesk_relay_server,
        key=installer.rustdesk_key,
        password=password,
        packages=urls,
        sha256=sums,
    )


async def record_report(session: AsyncSession, device: Device, report: RustDeskReport, *, now: datetime) -> None:
    """Keep the ID (or the error) the agent reported; a report from a device never set up is ignored."""
    row = await session.get(DeviceRustDesk, device.id)
    if row is None:
        return
    if report.id is not None:
        row.rustdesk_id, row.error = report.id, None
    else:
        row.error = report.error or "the agent reported neither an ID nor an error"
    row.reported_at = now
    await session.flush()


async def set_new_password(session: AsyncSession, device: Device) -> tuple[DeviceRustDesk, bool]:
    """A new random permanent password for ``device`` (stored encrypted); True when it replaced one.
    The ID already reported stays until the agent reports again."""
    password_encrypted = _box(session).encrypt(generate_password(PASSWORD_LENGTH))
    row = await session.get(DeviceRustDesk, device.id)
    if row is not None:
        row.password_encrypted, row.error = password_encrypted, None
        await session.flush()
        return row, True
    row = DeviceRustDesk(device_id=device.id, org_id=device.org_id, password_encrypted=password_encrypted)
    session.add(row)
    await session.flush()
    return row, False


def install_body(settings: RmmSettings, *, id_server: str, relay_server: str, key: str) -> RustDeskInstall:
    """The body of an ``install_rustdesk`` command: servers and where to fetch the client (no password)."""
    urls, sums = packages(settings)
    return RustDeskInstall(id_server=id_server, relay_server=relay_server, key=key, packages=urls, sha256=sums)


_OPEN = (CommandStatus.QUEUED, CommandStatus.DELIVERED, CommandStatus.RUNNING)


async def command_setup(session: AsyncSession, device: Device, command_uid: str) -> RustDeskSetup:
    """The full set-up for the agent running ``install_rustdesk`` command ``command_uid`` (its password
    decrypted). Only the device the command is for, and only while the command is open.

    Raises:
        NotFound: no such open command for this device, or the device has no RustDesk row.
    """
    command = (await session.execute(select(Command).where(Command.uid == command_uid))).scalar_one_or_none()
    if (
        command is None
        or command.device_id != device.id
        or command.kind is not CommandKind.INSTALL_RUSTDESK
        or command.status not in _OPEN
    ):
        raise NotFound(f"no open install_rustdesk command {command_uid} for this device")
    row = await session.get(DeviceRustDesk, device.id)
    if row is None:
        raise NotFound("this device has no RustDesk password on the hub")
    body = RustDeskInstall.model_validate_json(command.body)
    return RustDeskSetup(**body.model_dump(), password=reveal(session, row))


def reveal(session: AsyncSession, row: DeviceRustDesk) -> str:
    """The plain password (callers: the admin-only reveal tool)."""
    return _box(session).decrypt(row.password_encrypted)


@dataclass(frozen=True)
class RustDeskPanel:
    """What the device header's RustDesk panel shows (never the password)."""

    rustdesk_id: str | None
    error: str | None
    reported_at: datetime | None

    @property
    def link(self) -> str | None:
        """``rustdesk://<id>``: opens the technician's RustDesk client at this device."""
        return f"rustdesk://{self.rustdesk_id}" if self.rustdesk_id else None


async def panel(session: AsyncSession, *, org_id: int, device_id: int) -> RustDeskPanel | None:
    """The device's RustDesk state, or None when its installer did not opt in."""
    row = await session.get(DeviceRustDesk, device_id)
    if row is None or row.org_id != org_id:
        return None
    return RustDeskPanel(row.rustdesk_id, row.error, row.reported_at)
