"""The ``uv`` executables the hub serves to Windows/macOS (and Linux fallback) installers.

uv ships one wheel per platform on the package index, each holding the static ``uv`` binary
(``uv-<version>.data/scripts/uv[.exe]``). At set-up time :func:`stage_uv` downloads those wheels
with pip (``pip download --only-binary :all: --platform TAG``) and extracts the binaries; a hub
without index access gets the same result from wheels copied into ``<dist>/uv/wheels/`` by hand
(pre-staged; nothing is downloaded then). Installers fetch ``/agent/v1/download/uv/<platform>``
and use uv to provision a private CPython and install the agent wheel, so the endpoint needs no
Python and no winget.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
UV_VERSION = "0.13.9"
# platform name in URLs -> (wheel platform tag for pip, file name inside the wheel)
UV_PLATFORMS: dict[str, tuple[str, str]] = {
    "windows-x86_64": ("win_amd64", "uv.exe"),
    "windows-aarch64": ("win_arm64", "uv.exe"),
    "macos-x86_64": ("macosx_10_12_x86_64", "uv"),
    "macos-aarch64": ("macosx_11_0_arm64", "uv"),
    "linux-x86_64": ("manylinux_2_17_x86_64", "uv"),
    "linux-aarch64": ("manylinux_2_17_aarch64", "uv"),
}
DOWNLOAD_TIMEOUT_SECONDS = 300


class UvStageError(RuntimeError):
    """A uv wheel could not be downloaded or did not hold the binary."""


@dataclass(frozen=True)
class UvBinary:
    """One staged uv executable."""

    platform: str
    path: Path
    sha256: str


def uv_path(dist_dir: Path, platform: str) -> Path:
    """Where the binary for ``platform`` (a key of :data:`UV_PLATFORMS`) is staged."""
    return dist_dir / "uv" / UV_VERSION / platform / UV_PLATFORMS[platform][1]


def staged_uv(dist_dir: Path, platform: str) -> UvBinary | None:
    """The staged binary for ``platform``, or None when the set-up has not staged it."""
    if platform not in UV_PLATFORMS:
        return None
    path = uv_path(dist_dir, platform)
    sums = path.with_name(path.name + ".sha256")
    if not path.is_file() or not sums.is_file():
        return None
    return UvBinary(platform=platform, path=path, sha256=sums.read_text().strip())


def _wheel_for(wheels: Path, tag: str) -> Path | None:
    found = sorted(p for p in wheels.glob(f"uv-{UV_VERSION}-*.whl") if tag in p.name)
    return found[0] if found else None


def _download(wheels: Path, tag: str) -> Path:
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "-q",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--platform",
        tag,
        "-d",
        str(wheels),
        f"uv=={UV_VERSION}",
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UvStageError(f"downloading the uv wheel for {tag} took longer than {DOWNLOAD_TIMEOUT_SECONDS} s") from exc
    wheel = _wheel_for(wheels, tag)
    if done.returncode != 0 or wheel is None:
        raise UvStageError(f"pip could not download uv=={UV_VERSION} for {tag}: {(done.stderr or done.stdout)[-800:]}")
    return wheel


def _extract(wheel: Path, member_name: str, target: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.endswith(f".data/scripts/{member_name}")]
        if not members:
            raise UvStageError(f"{wheel.name} holds no {member_name}")
        data = archive.read(members[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".tmp")
    staged.write_bytes(data)
    staged.chmod(0o755)
    digest = hashlib.sha256(data).hexdigest()
    target.with_name(target.name + ".sha256").write_text(digest + "\n")
    staged.replace(target)
    return digest


def stage_uv(dist_dir: Path, platforms: list[str] | None = None) -> list[UvBinary]:
    """Stage uv for ``platforms`` (default all), from pre-staged wheels or the package index.

    Raises:
        UvStageError: a wheel could not be obtained or did not hold the binary.
    """
    wheels = dist_dir / "uv" / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    staged = []
    for platform in platforms or list(UV_PLATFORMS):
        existing = staged_uv(dist_dir, platform)
        if existing is not None:
            staged.append(existing)
            continue
        tag, member = UV_PLATFORMS[platform]
        wheel = _wheel_for(wheels, tag) or _download(wheels, tag)
        digest = _extract(wheel, member, uv_path(dist_dir, platform))
        log.info("staged uv %s for %s from %s", UV_VERSION, platform, wheel.name)
        staged.append(UvBinary(platform=platform, path=uv_path(dist_dir, platform), sha256=digest))
    return staged
