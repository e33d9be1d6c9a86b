"""Self-update of an agent installed from the wheel into its own virtualenv (the fallback route where the
hub has no single-file agent for the architecture, and the uv route).

Same contract as :mod:`agent.update` (verified download, swap, restart, watchdog, rollback), with a
wheel in place of the executable:

1. the release (``platform == "python"``, the ``wheel`` of the update manifest) is verified by size,
   SHA-256 and the hub's Ed25519 signature (:func:`agent.update.verify`);
2. :func:`swap_wheel` checks the wheel (pure-Python, only ``agent/`` and its ``.dist-info``, the
   version the manifest names, every requirement already installed), copies the running version's
   package and ``.dist-info`` to ``<state>/rollback/site``, then replaces them in site-packages
   with the wheel's (each directory moved into place by a rename);
3. the runtime reports, starts the watchdog **from the rollback copy** (``PYTHONPATH`` points at
   it, so the watchdog is version N whatever N+1 does) and re-executes ``python -m agent``;
4. the watchdog waits for the confirmation the new version writes after its first check-in; on
   time-out it stops it, puts the rollback copy back and restarts the agent.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import agent
from agent import __version__
from agent.protocol import UpdateManifest
from agent.update import PendingUpdate, UpdateRefused, _spawn_detached, stop_agent, wait_for_confirmation
from agent.update_restart import bring_back

log = logging.getLogger(__name__)
DIST_NAME = "rmmhub_agent"
ROLLBACK_DIR = "rollback"
UV_TIMEOUT_SECONDS = 600.0
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def installed_site() -> Path | None:
    """The site-packages folder this agent was installed into from its wheel, or None (a source tree)."""
    if getattr(sys, "frozen", False):
        return None
    site = Path(agent.__file__).resolve().parent.parent
    return site if any(site.glob(f"{DIST_NAME}-*.dist-info")) else None


def _wheel_members(data: bytes, version: str) -> tuple[zipfile.ZipFile, str]:
    try:
        wheel = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UpdateRefused("refused: the release is not a wheel") from exc
    info = f"{DIST_NAME}-{version}.dist-info"
    for name in wheel.namelist():
        if not (name.startswith("agent/") or name.startswith(info + "/")) or ".." in name.split("/"):
            raise UpdateRefused(f"refused: the wheel holds {name!r}, outside agent/ and {info}/")
    if f"{info}/METADATA" not in wheel.namelist() or "agent/__init__.py" not in wheel.namelist():
        raise UpdateRefused(f"refused: the wheel is not rmmhub-agent {version}")
    return wheel, info


def _missing_requirements(wheel: zipfile.ZipFile, info: str) -> list[str]:
    """The wheel's requirements (whole specifiers) whose distribution this environment lacks."""
    meta = wheel.read(f"{info}/METADATA").decode("utf-8", errors="replace")
    missing = []
    for line in meta.splitlines():
        if not line.startswith("Requires-Dist:") or "extra ==" in line:
            continue
        spec = line.removeprefix("Requires-Dist:").strip()
        match = _REQUIREMENT_NAME.match(spec)
        if match is None:
            continue
        try:
            metadata.version(match.group(1))
        except metadata.PackageNotFoundError:
            missing.append(spec)
    return missing


@dataclass(frozen=True)
class UvLayout:
    """The layout the installers' uv route creates: ``PREFIX/bin/uv`` (``uv.exe``), ``PREFIX/python``
    (the private CPython), ``PREFIX/venv`` (this agent's environment)."""

    prefix: Path
    uv: Path

    @classmethod
    def around(cls, venv: Path) -> UvLayout | None:
        """The layout ``venv`` belongs to, or None (a virtualenv made without the hub's uv)."""
        prefix = venv.resolve().parent
        for name in ("uv.exe", "uv") if sys.platform == "win32" else ("uv",):
            uv = prefix / "bin" / name
            if uv.is_file() and os.access(uv, os.X_OK):
                return cls(prefix, uv)
        return None

    def install(self, requirements: list[str], python: str) -> None:
        """Add ``requirements`` to the environment of ``python`` with this layout's uv (the running
        version keeps working: packages are only added). Index settings come from the agent's
        environment (``UV_INDEX_URL``, ``UV_FIND_LINKS``, ...), as for the installer.

        Raises:
            UpdateRefused: uv failed (its last output lines are in the message).
        """
        env = {
            **os.environ,
            "UV_NO_CONFIG": "1",
            "UV_CACHE_DIR": str(self.prefix / "cache"),
            "UV_PYTHON_INSTALL_DIR": str(self.prefix / "python"),
        }
        argv = [str(self.uv), "pip", "install", "--quiet", "--python", python, *requirements]
        log.info("installing %s with %s", ", ".join(requirements), self.uv)
        try:
            done = subprocess.run(
                argv, env=env, capture_output=True, text=True, timeout=UV_TIMEOUT_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UpdateRefused(f"refused: uv could not add {', '.join(requirements)}: {exc}") from exc
        finally:
            shutil.rmtree(self.prefix / "cache", ignore_errors=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-400:]
            raise UpdateRefused(f"refused: uv could not add {', '.join(requirements)} (exit {done.returncode}): {tail}")


def _replace_dir(target: Path, source: Path) -> None:
    """Put ``source`` at ``target`` (both in one folder): rename the old away, rename the new in, drop the old."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(source, target)
    shutil.rmtree(old, ignore_errors=True)


def swap_wheel(site: Path, data: bytes, manifest: UpdateManifest, state_dir: Path) -> None:
    """Keep the running version under ``<state>/rollback/site`` and install the verified wheel's files.

    Raises:
        UpdateRefused: the wheel is not this agent's, or needs a package this environment lacks.
    """
    wheel, info = _wheel_members(data, manifest.version)
    missing = _missing_requirements(wheel, info)
    layout = UvLayout.around(Path(sys.prefix)) if missing else None
    if missing and layout is not None:  # the uv route: add what N+1 needs first (N ignores it)
        layout.install(missing, sys.executable)
        importlib.invalidate_caches()
        missing = _missing_requirements(wheel, info)
    if missing:
        names = ", ".join(missing)
        raise UpdateRefused(f"refused: version {manifest.version} needs {names}; re-run the installer")
    keep = state_dir / ROLLBACK_DIR / "site"
    shutil.rmtree(keep.parent, ignore_errors=True)
    keep.mkdir(parents=True)
    shutil.copytree(site / "agent", keep / "agent", ignore=shutil.ignore_patterns("__pycache__"))
    for dist_info in site.glob(f"{DIST_NAME}-*.dist-info"):
        shutil.copytree(dist_info, keep / dist_info.name)
    staging = site / f".{DIST_NAME}-{manifest.version}.new"
    shutil.rmtree(staging, ignore_errors=True)
    wheel.extractall(staging)
    deadline = datetime.now(UTC) + timedelta(seconds=manifest.confirm_within_seconds)
    PendingUpdate(__version__, manifest.version, deadline, "pending").write(state_dir)
    _replace_dir(site / "agent", staging / "agent")
    for dist_info in site.glob(f"{DIST_NAME}-*.dist-info"):
        shutil.rmtree(dist_info)
    os.replace(staging / info, site / info)
    shutil.rmtree(staging, ignore_errors=True)


def restore(site: Path, state_dir: Path) -> None:
    """Put the kept version back into ``site`` (the watchdog's rollback)."""
    keep = state_dir / ROLLBACK_DIR / "site"
    staging = site / f".{DIST_NAME}.rollback"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(keep / "agent", staging / "agent")
    _replace_dir(site / "agent", staging / "agent")
    for dist_info in site.glob(f"{DIST_NAME}-*.dist-info"):
        shutil.rmtree(dist_info)
    for dist_info in keep.glob(f"{DIST_NAME}-*.dist-info"):
        shutil.copytree(dist_info, site / dist_info.name)
    shutil.rmtree(staging, ignore_errors=True)


_ORIGINAL = "RMMHUB_AGENT_ORIGINAL_PYTHONPATH"


def _watchdog_env(kept: Path) -> dict[str, str]:
    """This environment with the kept version first on ``PYTHONPATH`` (the original remembered)."""
    original = os.environ.get("PYTHONPATH", "")
    joined = os.pathsep.join(p for p in (str(kept), original) if p)
    return {**os.environ, "PYTHONPATH": joined, _ORIGINAL: original}


def _agent_env() -> dict[str, str]:
    """The agent's own environment: the ``PYTHONPATH`` it had before the watchdog's was put in front."""
    env = dict(os.environ)
    if _ORIGINAL in env:
        original = env.pop(_ORIGINAL)
        if original:
            env["PYTHONPATH"] = original
        else:
            env.pop("PYTHONPATH", None)
    return env


def start_watchdog(site: Path, state_dir: Path, service: str, service_file: str | None) -> None:
    """Start ``python -m agent update-watchdog --site ...`` detached, importing the kept (old) version."""
    argv = [
        sys.executable,
        "-m",
        "agent",
        "update-watchdog",
        "--state-dir",
        str(state_dir),
        "--pid",
        str(os.getpid()),
        "--exe",
        sys.executable,
        "--site",
        str(site),
        "--service",
        service,
        "--service-file",
        service_file or "",
    ]
    _spawn_detached(argv, state_dir / "update-watchdog.log", env=_watchdog_env(state_dir / ROLLBACK_DIR / "site"))


def restart() -> None:
    """Replace this process with ``python -m agent`` and the same arguments (same pid)."""
    log.info("restarting as the updated agent")
    logging.shutdown()
    os.execve(sys.executable, [sys.executable, "-m", "agent", *sys.argv[1:]], _agent_env())


def watchdog(state_dir: Path, pid: int, site: Path, service: str, service_file: str | None) -> int:
    """Wait for the confirmation; on time-out stop the new version, restore the kept one, restart."""
    pending = wait_for_confirmation(state_dir)
    if pending is None:
        shutil.rmtree(state_dir / ROLLBACK_DIR, ignore_errors=True)
        return 0
    stop_agent(state_dir, pid)
    restore(site, state_dir)
    PendingUpdate(pending.from_version, pending.to_version, pending.deadline, "rolled_back").write(state_dir)
    how = bring_back(
        service,
        service_file,
        state_dir,
        pid=pid,
        start_directly=lambda: _spawn_detached(
            [sys.executable, "-m", "agent", "run", "--state-dir", str(state_dir)],
            state_dir / "agent-restarted.log",
            env=_agent_env(),
        ),
    )
    log.info("rolled back to %s (restarted: %s)", pending.from_version, how)
    return 0
