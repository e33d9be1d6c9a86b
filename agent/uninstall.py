"""Remove the agent from this machine: service registration, files and state.

The per-OS routines are scripts shipped in the wheel (``agent/installers/uninstall_*``); the
installer records what it installed (:class:`~agent.config.InstallInfo`) so the routine removes
exactly that. The agent has already reported its result and deregistered when this runs.

- systemd: ``uninstall_linux.sh`` disables the unit (without stopping it: stopping would kill this
  process mid-way), deletes it and the prefix; the agent then exits 0, which ``Restart=on-failure``
  does not restart.
- launchd: ``uninstall_macos.sh`` deletes the plist and the prefix, then boots the job out.
- scheduled task: ``uninstall_windows.ps1`` runs detached, waits for this process to exit (Windows
  cannot delete a running python.exe), unregisters the task and deletes the prefix.
- no service (dev agent, ``make run``): the state directory is deleted.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from agent.config import InstallInfo

log = logging.getLogger(__name__)


def _script(name: str) -> Path:
    source = resources.files("agent.installers") / name
    target = Path(tempfile.mkdtemp(prefix="rmmhub-uninstall-")) / name
    target.write_bytes(source.read_bytes())  # the prefix holding the original is about to go
    return target


def run_uninstall(install: InstallInfo, state_dir: Path) -> None:
    """Run the uninstall routine for how this agent was installed (see the module docstring)."""
    if install.service == "none" or not install.prefix:
        shutil.rmtree(state_dir, ignore_errors=True)
        return
    env = {
        **os.environ,
        "RMMHUB_AGENT_PREFIX": install.prefix,
        "RMMHUB_AGENT_SERVICE_FILE": install.service_file or "",
    }
    if install.service == "scheduled_task":
        script = _script("uninstall_windows.ps1")
        argv = ["powershell.exe", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", str(script)]
        argv += [
            "-Prefix",
            install.prefix,
            "-TaskName",
            install.service_file or "rmmhub-agent",
            "-WaitPid",
            str(os.getpid()),
        ]
        flags = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        subprocess.Popen(argv, env=env, creationflags=flags, close_fds=True)
        return
    name = "uninstall_linux.sh" if install.service == "systemd" else "uninstall_macos.sh"
    script = _script(name)
    completed = subprocess.run(["/bin/sh", str(script)], env=env, capture_output=True, text=True, check=False)
    shutil.rmtree(script.parent, ignore_errors=True)
    if completed.returncode != 0:
        log.error("uninstall routine failed (%s): %s", completed.returncode, completed.stderr.strip())
    else:
        log.info("uninstall routine done: %s", completed.stdout.strip() or "ok")
    if sys.platform != "win32" and state_dir.exists():
        shutil.rmtree(state_dir, ignore_errors=True)
