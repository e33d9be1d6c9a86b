"""Self-update of the single-file agent: verify, swap, restart, roll back when the new one stays silent.

1. :func:`fetch_verified` downloads the release named by an :class:`UpdateManifest`, checks its
   size and SHA-256 against the manifest and the manifest's Ed25519 signature against the hub key
   pinned at enrollment. Anything off: the update is refused and the running agent stays.
2. :func:`swap` keeps the running executable as ``<exe>.prev``, moves the new one into place and
   writes ``update.json`` (from/to versions, a confirm-by deadline) in the state directory.
3. The runtime reports the command's result, starts the watchdog (the *previous* executable:
   ``<exe>.prev update-watchdog``, detached) and re-executes itself as the new version.
4. The new agent calls :func:`confirm` after its first successful check-in (``update.json`` gets
   ``confirmed``). The watchdog waits for that until the deadline; on time-out it stops the
   silent process, moves ``<exe>.prev`` back and restarts the agent through its service manager
   (:func:`agent.update_restart.bring_back`; no service: started detached), recording
   ``rolled_back`` in ``update.json``.

A virtualenv agent updates its wheel the same way (:mod:`agent.update_venv`); one run from a source
tree refuses with the reason.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent import __version__
from agent.protocol import UpdateManifest, update_signed_message
from agent.update_restart import bring_back

log = logging.getLogger(__name__)
UPDATE_FILE = "update.json"
PID_FILE = "agent.pid"
DOWNLOAD_TIMEOUT_SECONDS = 300.0
_CREATE_BREAKAWAY_FROM_JOB = 0x01000000  # winbase.h; the subprocess module does not name it


class UpdateRefused(Exception):
    """The update cannot or must not be applied; the message says why (reported to the hub)."""


@dataclass(frozen=True)
class PendingUpdate:
    """What ``update.json`` records."""

    from_version: str
    to_version: str
    deadline: datetime
    state: str  # pending | confirmed | rolled_back

    @classmethod
    def read(cls, state_dir: Path) -> PendingUpdate | None:
        path = state_dir / UPDATE_FILE
        try:
            raw = json.loads(path.read_text())
            return cls(raw["from"], raw["to"], datetime.fromisoformat(raw["deadline"]), raw["state"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, state_dir: Path) -> None:
        body = {
            "from": self.from_version,
            "to": self.to_version,
            "deadline": self.deadline.isoformat(),
            "state": self.state,
        }
        tmp = state_dir / (UPDATE_FILE + ".tmp")
        tmp.write_text(json.dumps(body))
        tmp.replace(state_dir / UPDATE_FILE)


def running_executable() -> Path | None:
    """The single-file agent's path, or None when this agent runs from a Python environment."""
    return Path(sys.executable).resolve() if getattr(sys, "frozen", False) else None


def verify(manifest: UpdateManifest, data: bytes, public_key: str | None) -> None:
    """Check size, SHA-256 and signature of ``data`` against ``manifest``.

    Raises:
        UpdateRefused: any mismatch, or no pinned key.
    """
    if not public_key:
        raise UpdateRefused("no hub update key was pinned at enrollment: re-install the agent to update it")
    if len(data) != manifest.size:
        raise UpdateRefused(f"refused: the download is {len(data)} bytes, the hub published {manifest.size}")
    actual = hashlib.sha256(data).hexdigest()
    if actual != manifest.sha256:
        raise UpdateRefused(f"refused: SHA-256 mismatch (downloaded {actual}, published {manifest.sha256})")
    message = update_signed_message(manifest.version, manifest.platform, manifest.sha256, manifest.size)
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(manifest.signature, validate=True), message)
    except (InvalidSignature, ValueError, binascii.Error) as exc:
        raise UpdateRefused("refused: the release is not signed with this hub's update key") from exc


async def fetch_verified(hub_url: str, manifest: UpdateManifest, public_key: str | None) -> bytes:
    """Download and verify the release (see :func:`verify`).

    Raises:
        UpdateRefused: download failed, or verification failed.
    """
    try:
        async with httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT_SECONDS) as client:
            response = await client.get(hub_url.rstrip("/") + manifest.path)
    except httpx.HTTPError as exc:
        raise UpdateRefused(f"downloading {manifest.path} failed: {exc}") from exc
    if response.status_code != 200:
        raise UpdateRefused(f"downloading {manifest.path} failed: HTTP {response.status_code}")
    verify(manifest, response.content, public_key)
    return response.content


def swap(exe: Path, data: bytes, manifest: UpdateManifest, state_dir: Path) -> None:
    """Put the verified release in place of ``exe`` (kept as ``<exe>.prev``) and record the update."""
    staged = exe.with_name(exe.name + ".new")
    staged.write_bytes(data)
    staged.chmod(0o755)
    prev = exe.with_name(exe.name + ".prev")
    with contextlib.suppress(FileNotFoundError):
        prev.unlink()
    os.link(exe, prev)  # the running file stays intact under the second name
    deadline = datetime.now(UTC) + timedelta(seconds=manifest.confirm_within_seconds)
    PendingUpdate(__version__, manifest.version, deadline, "pending").write(state_dir)
    staged.replace(exe)


def _child_env() -> dict[str, str]:
    # A single-file app starting another one must not hand it its own unpacked runtime.
    return {**os.environ, "PYINSTALLER_RESET_ENVIRONMENT": "1"}


def _spawn_detached(argv: list[str], log_path: Path, *, env: dict[str, str] | None = None) -> None:
    """Start ``argv`` on its own, output appended to ``log_path``; nothing waits for it.

    POSIX: a new session (``setsid``), so a service manager stopping the agent's process group
    leaves it running. Windows: detached, in a new process group and out of the scheduled task's
    job object (``CREATE_BREAKAWAY_FROM_JOB``), so ending the task does not end it.
    """
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        if sys.platform == "win32":
            flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP | _CREATE_BREAKAWAY_FROM_JOB
            subprocess.Popen(
                argv,
                env=env if env is not None else _child_env(),
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                creationflags=flags,
                close_fds=True,
            )
            return
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, fd, 1),
            (os.POSIX_SPAWN_DUP2, fd, 2),
        ]
        os.posix_spawn(argv[0], argv, env if env is not None else _child_env(), file_actions=actions, setsid=True)
    finally:
        os.close(fd)


spawn_detached = _spawn_detached


def start_watchdog(exe: Path, state_dir: Path, service: str, service_file: str | None) -> None:
    """Start ``<exe>.prev update-watchdog`` detached, watching this process id."""
    prev = exe.with_name(exe.name + ".prev")
    argv = [
        str(prev),
        "update-watchdog",
        "--state-dir",
        str(state_dir),
        "--pid",
        str(os.getpid()),
        "--exe",
        str(exe),
        "--service",
        service,
        "--service-file",
        service_file or "",
    ]
    _spawn_detached(argv, state_dir / "update-watchdog.log")


def restart_as(exe: Path) -> None:
    """Replace this process with ``exe`` and the same arguments (same pid; the service sees no exit)."""
    log.info("restarting as %s", exe)
    logging.shutdown()
    os.execve(str(exe), [str(exe), *sys.argv[1:]], _child_env())


def confirm(state_dir: Path) -> bool:
    """Mark a pending update to this version as confirmed (called after a successful check-in)."""
    pending = PendingUpdate.read(state_dir)
    if pending is None or pending.state != "pending" or pending.to_version != __version__:
        return False
    PendingUpdate(pending.from_version, pending.to_version, pending.deadline, "confirmed").write(state_dir)
    log.info("update from %s to %s confirmed", pending.from_version, pending.to_version)
    return True


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has exited: only its parent can reap it). psutil, not ``os.kill(pid, 0)``,
    which on Windows would terminate the process."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _stop(pid: int) -> None:
    """Terminate ``pid`` (SIGTERM; TerminateProcess on Windows), then kill it if it lingers."""
    for wait, kill in ((10.0, False), (5.0, True)):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process = psutil.Process(pid)
            process.kill() if kill else process.terminate()
        end = time.monotonic() + wait
        while _alive(pid) and time.monotonic() < end:
            time.sleep(0.1)
        if not _alive(pid):
            return


def stop_agent(state_dir: Path, pid: int) -> None:
    """Stop the agent being watched: ``pid`` (the process that updated) and, where the service manager
    started the new version as a new process (a scheduled task), the one ``agent.pid`` names."""
    pids = [pid]
    with contextlib.suppress(OSError, ValueError):
        current = int((state_dir / PID_FILE).read_text().strip())
        if current != pid and current != os.getpid() and _is_agent(current):
            pids.append(current)
    for each in pids:
        _stop(each)


def _is_agent(pid: int) -> bool:
    try:
        return any("agent" in part for part in psutil.Process(pid).cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def wait_for_confirmation(state_dir: Path) -> PendingUpdate | None:
    """Wait until the update is confirmed (None) or its deadline passes (the pending update: roll back)."""
    while True:
        pending = PendingUpdate.read(state_dir)
        if pending is None or pending.state != "pending":
            log.info("update confirmed; watchdog done")
            return None
        if datetime.now(UTC) >= pending.deadline:
            log.warning(
                "version %s did not check in by %s: rolling back to %s",
                pending.to_version,
                pending.deadline,
                pending.from_version,
            )
            return pending
        time.sleep(0.5)


def watchdog(state_dir: Path, pid: int, exe: Path, service: str, service_file: str | None) -> int:
    """Wait for the new version's confirmation; roll back on time-out. Returns an exit code."""
    pending = wait_for_confirmation(state_dir)
    if pending is None:
        exe.with_name(exe.name + ".prev").unlink(missing_ok=True)
        return 0
    stop_agent(state_dir, pid)
    prev = exe.with_name(exe.name + ".prev")
    prev.replace(exe)
    PendingUpdate(pending.from_version, pending.to_version, pending.deadline, "rolled_back").write(state_dir)
    how = bring_back(
        service,
        service_file,
        state_dir,
        pid=pid,
        start_directly=lambda: _spawn_detached(
            [str(exe), "run", "--state-dir", str(state_dir)], state_dir / "agent-restarted.log"
        ),
    )
    log.info("rolled back to %s (restarted: %s)", pending.from_version, how)
    return 0
