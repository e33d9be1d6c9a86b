"""Which agent release the hub offers per platform: the set-up's build, or a newer published one.

Candidates for ``linux-<arch>``: the single-file agent built from this hub's agent source (version
``agent.__version__``) and any release published under
``<dist>/releases/linux-<arch>/<version>/rmmhub-agent`` with its ``rmmhub-agent.sha256`` (``rmmhub
agent publish`` writes both). The highest version is the current one; agents reporting another
version are outdated.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from agent import __version__
from agent.protocol import API_PREFIX, UpdateManifest, update_signed_message
from native_rmm.devices.agent_versions import VERSION, version_key
from native_rmm.installers.binary import BINARY_NAME, available_binaries, machine_arch
from native_rmm.updates.signing import UpdateSigner

_VERSION = VERSION
RELEASES_PATH = API_PREFIX + "/download/releases"
#: The platform of wheel releases (virtualenv agents, any OS) and the file name they are kept under.
WHEEL_PLATFORM = "python"
WHEEL_NAME = "rmmhub_agent.whl"


def release_file(platform: str) -> str:
    """The file name of a release for ``platform`` (the single-file agent, or the wheel)."""
    return WHEEL_NAME if platform == WHEEL_PLATFORM else BINARY_NAME


class ReleaseError(ValueError):
    """A release cannot be published (bad version, missing file)."""


@dataclass(frozen=True)
class Release:
    """One servable agent release."""

    platform: str
    version: str
    path: Path
    sha256: str

    def manifest(self, signer: UpdateSigner, *, confirm_within_seconds: int) -> UpdateManifest:
        size = self.path.stat().st_size
        return UpdateManifest(
            version=self.version, platform=self.platform, sha256=self.sha256, size=size,
            path=f"{RELEASES_PATH}/{self.platform}/{self.version}/{release_file(self.platform)}",
            signature=signer.sign(update_signed_message(self.version, self.platform, self.sha256, size)),
            confirm_within_seconds=confirm_within_seconds,
        )  # fmt: skip


def _published(dist_dir: Path, platform: str) -> list[Release]:
    found = []
    for folder in sorted((dist_dir / "releases" / platform).glob("*")):
        name = release_file(platform)
        exe, sums = folder / name, folder / f"{name}.sha256"
        if _VERSION.fullmatch(folder.name) and exe.is_file() and sums.is_file():
            found.append(Release(platform, folder.name, exe, sums.read_text().strip()))
    return found


def releases(dist_dir: Path, platform: str) -> list[Release]:
    """Every servable release for ``platform``, lowest version first."""
    candidates = _published(dist_dir, platform)
    built = available_binaries(dist_dir).get(platform.removeprefix("linux-"))
    if built is not None and platform.startswith("linux-"):
        candidates.append(Release(platform, __version__, built.path, built.sha256))
    return sorted(candidates, key=lambda r: version_key(r.version))


def current_release(dist_dir: Path, platform: str) -> Release | None:
    """The newest release for ``platform``, or None when the hub has none."""
    found = releases(dist_dir, platform)
    return found[-1] if found else None


def find_release(dist_dir: Path, platform: str, version: str) -> Release | None:
    """The release ``version`` for ``platform`` (what the download route serves)."""
    return next((r for r in releases(dist_dir, platform) if r.version == version), None)


def publish(dist_dir: Path, binary: Path, version: str, platform: str | None = None) -> Release:
    """Copy ``binary`` in as release ``version`` (its SHA-256 is computed now, from the copy).

    Raises:
        ReleaseError: not a dotted numeric version, or ``binary`` is not a file.
    """
    if not _VERSION.fullmatch(version):
        raise ReleaseError(f"version must be dotted numbers like 1.2.3: {version!r}")
    if not binary.is_file():
        raise ReleaseError(f"no such file: {binary}")
    platform = platform or f"linux-{machine_arch()}"
    folder = dist_dir / "releases" / platform / version
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / release_file(platform)
    shutil.copyfile(binary, target)
    target.chmod(0o755)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    (folder / f"{target.name}.sha256").write_text(digest + "\n")
    return Release(platform, version, target, digest)


def latest_version(dist_dir: Path) -> str | None:
    """The version agents should run: the newest single-file (this hub's arch) or wheel release, or None."""
    found = [r for p in (f"linux-{machine_arch()}", WHEEL_PLATFORM) if (r := current_release(dist_dir, p))]
    return max((r.version for r in found), key=version_key, default=None)
