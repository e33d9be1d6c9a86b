"""The single-file Linux agent: built with PyInstaller at set-up time, cached by source hash, served per arch.

Why PyInstaller: it is the maintained, widely deployed freezer that turns this pure-Python agent
(with psutil's and pydantic-core's compiled extensions) into ONE executable with its own CPython,
from a PyPI wheel, with no C compiler (Nuitka needs gcc and takes many minutes on 2 cores; shiv/
PEX still need a Python on the endpoint). The build runs once per agent source: the cache key is a
SHA-256 over the agent's files, the build interpreter's version, PyInstaller's version and the
machine architecture, so ``make run``/``make test`` re-use it until the agent changes.

Layout of the distribution folder (``RMMHUB_RMM_AGENT_DIST_DIR``, default ``./var/agent-dist``)::

    linux-<arch>/<key>/rmmhub-agent          the executable (only the build machine's arch)
    linux-<arch>/<key>/rmmhub-agent.sha256   its SHA-256 (hex), published to installers
    linux-<arch>/<key>/.build.lock           held while one process builds; another waits, then re-uses

The hub never builds on a request (minutes of CPU); it serves what the set-up built
(:func:`available_binaries`), and installers fall back to the virtualenv route for other arches.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import logging
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from native_rmm.installers.wheel import AGENT_SOURCE

log = logging.getLogger(__name__)
BINARY_NAME = "rmmhub-agent"
BUILD_TIMEOUT_SECONDS = 900
_ARCH_ALIASES = {"amd64": "x86_64", "x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
_ENTRY = "import sys\n\nfrom agent.main import main\n\nsys.exit(main())\n"


class BinaryBuildError(RuntimeError):
    """The single-file agent could not be built; the message carries PyInstaller's output tail."""


@dataclass(frozen=True)
class AgentBinary:
    """One built executable for ``linux-<arch>``."""

    arch: str
    path: Path
    sha256: str


def machine_arch() -> str:
    """This machine's architecture as installers name it (``uname -m``: x86_64, aarch64)."""
    machine = platform.machine().lower()
    return _ARCH_ALIASES.get(machine, machine)


def _agent_files(source: Path) -> list[Path]:
    skip = {"__pycache__", "build", "dist"}
    return sorted(
        p
        for p in source.rglob("*")
        if p.is_file()
        and not skip & set(p.relative_to(source).parts)
        and p.suffix != ".pyc"
        and ".egg-info" not in str(p)
    )


@functools.lru_cache(maxsize=8)
def source_key(source: Path = AGENT_SOURCE) -> str:
    """The cache key of a build from ``source`` on this machine (hex, 16 characters; once per process)."""
    digest = hashlib.sha256()
    try:
        pyinstaller = metadata.version("pyinstaller")
    except metadata.PackageNotFoundError:
        pyinstaller = "missing"
    digest.update(f"{sys.version}|{pyinstaller}|{machine_arch()}\n".encode())
    for path in _agent_files(source):
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_binary(dist_dir: Path, source: Path = AGENT_SOURCE) -> AgentBinary | None:
    """The build for the current agent source on this machine's arch, if the set-up made it."""
    arch = machine_arch()
    folder = dist_dir / f"linux-{arch}" / source_key(source)
    exe, sums = folder / BINARY_NAME, folder / f"{BINARY_NAME}.sha256"
    if not exe.is_file() or not sums.is_file():
        return None
    return AgentBinary(arch=arch, path=exe, sha256=sums.read_text().strip())


def available_binaries(dist_dir: Path, source: Path = AGENT_SOURCE) -> dict[str, AgentBinary]:
    """Arch -> executable the hub can serve now (empty off Linux or before the set-up built one)."""
    if not sys.platform.startswith("linux"):
        return {}
    built = cached_binary(dist_dir, source)
    return {built.arch: built} if built is not None else {}


def build_binary(dist_dir: Path, source: Path = AGENT_SOURCE) -> tuple[AgentBinary, float]:
    """Build (or re-use) the executable for the current source; returns it and the seconds spent.

    Raises:
        BinaryBuildError: not on Linux, PyInstaller missing or failing, or over the time limit.
    """
    if not sys.platform.startswith("linux"):
        raise BinaryBuildError("the single-file agent is built on Linux hubs only")
    cached = cached_binary(dist_dir, source)
    if cached is not None:
        return cached, 0.0
    started = time.monotonic()
    folder = dist_dir / f"linux-{machine_arch()}" / source_key(source)
    folder.mkdir(parents=True, exist_ok=True)
    with _build_lock(folder):
        cached = cached_binary(dist_dir, source)  # built by the process we waited for
        if cached is not None:
            return cached, time.monotonic() - started
        return _build(folder, source, started)


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """One build per folder at a time, across processes (two set-ups, or test workers, asking at once)."""
    with (folder / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(folder: Path, source: Path, started: float) -> tuple[AgentBinary, float]:
    with tempfile.TemporaryDirectory(prefix="rmmhub-agent-bin-") as tmp:
        work = Path(tmp)
        shutil.copytree(source, work / "src" / "agent", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        entry = work / "entry.py"
        entry.write_text(_ENTRY)
        argv = [
            sys.executable,
            "-m",
            "PyInstaller",
            "--onefile",
            "--name",
            BINARY_NAME,
            "--noconfirm",
            "--log-level",
            "WARN",
            "--paths",
            str(work / "src"),
            "--collect-submodules",
            "agent",
            "--collect-data",
            "agent.installers",
            "--distpath",
            str(work / "dist"),
            "--workpath",
            str(work / "build"),
            "--specpath",
            str(work),
            str(entry),
        ]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BinaryBuildError(f"PyInstaller took longer than {BUILD_TIMEOUT_SECONDS} s") from exc
        built = work / "dist" / BINARY_NAME
        if done.returncode != 0 or not built.is_file():
            tail = (done.stdout + done.stderr)[-2000:]
            raise BinaryBuildError(f"PyInstaller failed (exit {done.returncode}): {tail}")
        staged = folder / f".{BINARY_NAME}.tmp"
        shutil.copy2(built, staged)
        staged.chmod(0o755)
        digest = _sha256(staged)
        (folder / f"{BINARY_NAME}.sha256").write_text(digest + "\n")
        staged.replace(folder / BINARY_NAME)
    elapsed = time.monotonic() - started
    log.info("built the single-file agent %s in %.0f s", folder / BINARY_NAME, elapsed)
    return AgentBinary(arch=machine_arch(), path=folder / BINARY_NAME, sha256=digest), elapsed
