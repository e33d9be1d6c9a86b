"""Bringing the agent back up after a self-update or its rollback: the one step that differs per OS.

The verify / swap / watchdog / rollback core is shared (:mod:`agent.update` for the single-file
agent, :mod:`agent.update_venv` for a wheel in a virtualenv: the Linux fallback and the
uv-provisioned Windows and macOS layouts). What each service manager needs:

``systemd``
    after the swap: re-exec in place (same pid, the unit sees no exit); after a rollback:
    ``systemctl restart --no-block <unit>``.
``launchd`` (macOS)
    after the swap: re-exec in place (same pid: still launchd's job); after a rollback: the helper
    ``update-restart.sh`` (:data:`MACOS_HELPER`): ``launchctl kickstart -k <domain>/<label>``, or
    ``launchctl bootstrap`` from the plist when the job is not loaded.
``scheduled_task`` (Windows)
    a process cannot be replaced in place on Windows, and a task runs one instance at a time: the
    agent writes the helper ``update-restart.ps1`` (:data:`WINDOWS_HELPER`), starts it detached
    (out of the task's job object) and exits; the helper waits for it to end and runs
    ``Start-ScheduledTask``. After a rollback the same helper first ends the silent new
    version's instance (``Stop-ScheduledTask``).
``none``
    re-exec in place; after a rollback the agent is started directly, detached.

When a service manager's step fails the agent is started directly (and the log says why).
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)
MACOS_HELPER = "update_restart_macos.sh"
WINDOWS_HELPER = "update_restart_windows.ps1"
HELPER_TIMEOUT_SECONDS = 180.0
DEFAULT_TASK = "rmmhub-agent"
DEFAULT_LABEL = "com.rmmhub.agent"


def _ps_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _template(name: str) -> str:
    return (resources.files("agent.installers") / name).read_text(encoding="utf-8")


def launchd_domain() -> str:
    """``system`` for a daemon (root), else the user's ``gui/<uid>`` domain."""
    uid = os.geteuid() if hasattr(os, "geteuid") else 0
    return "system" if uid == 0 else f"gui/{uid}"


def render_macos_helper(plist: str, *, domain: str) -> str:
    """The launchd restart helper for the daemon defined by ``plist`` (label: the plist's file name stem)."""
    label = Path(plist).name.removesuffix(".plist") or DEFAULT_LABEL
    return (
        _template(MACOS_HELPER)
        .replace("@@LABEL@@", shlex.quote(label))
        .replace("@@PLIST@@", shlex.quote(plist))
        .replace("@@DOMAIN@@", shlex.quote(domain))
    )


def render_windows_helper(task: str, *, pid: int, stop_first: bool, python: str, state_dir: str) -> str:
    """The scheduled-task restart helper: wait for ``pid`` to end, (stop the task,) start the task."""
    return (
        _template(WINDOWS_HELPER)
        .replace("@@TASK@@", _ps_quote(task or DEFAULT_TASK))
        .replace("@@PID@@", str(int(pid)))
        .replace("@@STOP_FIRST@@", "$true" if stop_first else "$false")
        .replace("@@PYTHON@@", _ps_quote(python))
        .replace("@@STATE_DIR@@", _ps_quote(state_dir))
    )


def windows_python(python: str) -> str:
    """``pythonw.exe`` beside ``python.exe`` when there is one (no console window for a service)."""
    candidate = Path(python).with_name("pythonw.exe")
    return str(candidate) if candidate.is_file() else python


def helper_argv(script: Path) -> list[str]:
    if script.suffix == ".ps1":
        return ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", str(script)]
    return ["/bin/sh", str(script)]


def restarts_in_place(service: str) -> bool:
    """Whether the updated agent re-executes itself (False: a scheduled task starts the new version)."""
    return service != "scheduled_task"


def write_helper(
    service: str, service_file: str | None, state_dir: Path, *, pid: int, stop_first: bool, python: str
) -> Path | None:
    """Write the helper for ``service`` into the state directory; None when the service needs none."""
    if service == "launchd":
        text, name = render_macos_helper(service_file or DEFAULT_LABEL, domain=launchd_domain()), "update-restart.sh"
    elif service == "scheduled_task":
        text = render_windows_helper(
            service_file or DEFAULT_TASK,
            pid=pid,
            stop_first=stop_first,
            python=windows_python(python),
            state_dir=str(state_dir),
        )
        name = "update-restart.ps1"
    else:
        return None
    path = state_dir / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o700)
    return path


def hand_over(
    service: str, service_file: str | None, state_dir: Path, spawn: Callable[[list[str], Path], None]
) -> None:
    """After a Windows update: start the helper that restarts the task once this process has exited."""
    script = write_helper(service, service_file, state_dir, pid=os.getpid(), stop_first=False, python=sys.executable)
    if script is None:
        raise ValueError(f"{service} restarts in place; nothing to hand over")
    log.info("the scheduled task starts the new version once this process ends (%s)", script)
    spawn(helper_argv(script), state_dir / "update-restart.log")


def bring_back(
    service: str,
    service_file: str | None,
    state_dir: Path,
    *,
    pid: int,
    start_directly: Callable[[], None],
    runner: Callable[[list[str]], int] | None = None,
) -> str:
    """Start the agent again after a rollback; returns how (``systemd``, ``launchd``, ``scheduled_task``
    or ``direct``). ``runner`` runs a service-manager command and returns its exit code."""
    run = runner or _run
    argv: list[str] | None = None
    if service == "systemd" and service_file and Path("/run/systemd/system").is_dir():
        argv = ["systemctl", "restart", "--no-block", Path(service_file).name]
    elif service in ("launchd", "scheduled_task"):
        script = write_helper(service, service_file, state_dir, pid=pid, stop_first=True, python=sys.executable)
        argv = helper_argv(script) if script is not None else None
    if argv is not None:
        code = run(argv)
        if code == 0:
            return service
        log.warning("%s failed (exit %s): starting the agent directly", " ".join(argv[:3]), code)
    start_directly()
    return "direct"


def _run(argv: list[str]) -> int:
    try:
        return subprocess.run(argv, check=False, timeout=HELPER_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL).returncode
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("%s could not run: %s", argv[0], exc)
        return 127
