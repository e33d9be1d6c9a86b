"""The local agent ``make run`` starts for newcomers: this machine, enrolled into the first organisation.

It runs as the current user (no service install) from the repository's ``agent`` package, with its
state under ``./var/local-agent``; the first start enrolls with the organisation's Base installer
token, later starts reuse the stored device credential. It is stopped when the hub stops.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.tenancy import first_organization
from native_rmm.installers.service import ensure_base_installer, installer_token

log = logging.getLogger(__name__)

STATE_DIR = Path("var/local-agent")
STARTUP_TIMEOUT_SECONDS = 60


async def base_installer_token(session: AsyncSession) -> str | None:
    """The Base installer token of the first organisation (None before bootstrap)."""
    org = await first_organization(session)
    if org is None:
        return None
    return installer_token(session, await ensure_base_installer(session, org_id=org.id))


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


class LocalAgent:
    """Starts ``python -m agent run`` once the hub answers /healthz, and stops it on :meth:`stop`."""

    def __init__(self, *, hub_url: str, token: str, state_dir: Path = STATE_DIR) -> None:
        self._hub_url = hub_url
        self._token = token
        self._state_dir = state_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._start_when_ready, name="local-agent", daemon=True)

    def start(self) -> None:
        """Wait for the hub in the background, then launch the agent.

        Also makes SIGTERM end the process with ``SystemExit``: uvicorn re-raises the signal after its
        graceful shutdown, and with the default action the process would die before the ``finally``
        that calls :meth:`stop`, leaving the agent running without its hub.
        """
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self._thread.start()

    def _start_when_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._stopping.is_set():
            try:
                if httpx.get(f"{self._hub_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                log.error("the hub did not answer %s/healthz; the local agent was not started", self._hub_url)
                return
            time.sleep(0.5)
        if self._stopping.is_set():
            return
        self._state_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "agent", "run", "--hub", self._hub_url, "--token", self._token]
        cmd += ["--state-dir", str(self._state_dir), "--foreground"]
        log_file = (self._state_dir / "agent.log").open("ab")
        self._proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
        log.info("local agent started (pid %d, log %s)", self._proc.pid, self._state_dir / "agent.log")
        print(f"  local agent: this machine is enrolling as a device (log: {self._state_dir / 'agent.log'})")

    def stop(self) -> None:
        """Stop the agent process (if it was started)."""
        self._stopping.set()
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
