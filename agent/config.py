"""Where the agent keeps its state, what it remembers between runs, and its environment overrides.

State directory layout (created mode 0700)::

    agent.json      AgentState: hub URL, device id, intervals, install info (no secrets)
    credential      the device credential, mode 0600
    spool/          command results not yet confirmed by the hub (see agent.spool)
    ledger.json     command ids already started (see agent.ledger)

Environment overrides (read once, in :meth:`AgentEnv.from_environ`):

- ``RMMHUB_AGENT_STATE_DIR``: state directory when ``--state-dir`` is not given.
- ``RMMHUB_AGENT_CHECKIN_INTERVAL``: check-in interval in seconds, wins over the hub's value.
- ``RMMHUB_AGENT_JITTER``: fraction of the interval used as random jitter (default 0.1).
- ``RMMHUB_AGENT_RECONNECT_MAX``: longest WebSocket reconnect back-off in seconds (default 60).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from agent.protocol import DEFAULT_CHECKIN_INTERVAL_SECONDS

STATE_FILE = "agent.json"
CREDENTIAL_FILE = "credential"
ServiceKind = Literal["systemd", "launchd", "scheduled_task", "none"]


class ConfigError(RuntimeError):
    """The agent's configuration or state is missing or invalid; the message says what to do."""


class InstallInfo(BaseModel):
    """How the agent was installed, so that the uninstall routine knows what to remove."""

    model_config = ConfigDict(extra="forbid")

    service: ServiceKind = "none"
    prefix: str | None = None
    service_file: str | None = None


class AgentState(BaseModel):
    """The non-secret state persisted in ``agent.json`` after enrollment."""

    model_config = ConfigDict(extra="forbid")

    hub_url: str
    device_id: str
    websocket_path: str
    checkin_interval_seconds: int = DEFAULT_CHECKIN_INTERVAL_SECONDS
    quick_support: bool = False
    support_code: str | None = None
    session_expires_at: AwareDatetime | None = None
    install: InstallInfo = InstallInfo()
    enrolled_at: datetime
    update_public_key: str | None = None  # the hub's Ed25519 update key (base64), pinned at enrollment


@dataclass(frozen=True)
class AgentEnv:
    """Environment overrides, parsed and validated in one place."""

    state_dir: Path | None = None
    checkin_interval: float | None = None
    jitter: float = 0.1
    reconnect_max: float = 60.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> AgentEnv:
        """Read ``RMMHUB_AGENT_*`` variables.

        Raises:
            ConfigError: a variable is set to something that is not a positive number.
        """
        env = os.environ if environ is None else environ

        def number(name: str) -> float | None:
            raw = env.get(name)
            if raw is None or raw == "":
                return None
            try:
                value = float(raw)
            except ValueError as exc:
                raise ConfigError(f"{name}={raw!r} is not a number") from exc
            if value < 0:
                raise ConfigError(f"{name}={raw!r} must not be negative")
            return value

        state_dir = env.get("RMMHUB_AGENT_STATE_DIR")
        jitter = number("RMMHUB_AGENT_JITTER")
        reconnect_max = number("RMMHUB_AGENT_RECONNECT_MAX")
        return cls(
            state_dir=Path(state_dir) if state_dir else None,
            checkin_interval=number("RMMHUB_AGENT_CHECKIN_INTERVAL"),
            jitter=0.1 if jitter is None else min(jitter, 1.0),
            reconnect_max=60.0 if reconnect_max is None else max(reconnect_max, 0.1),
        )


def default_state_dir() -> Path:
    """The state directory used when neither ``--state-dir`` nor the environment names one."""
    if sys.platform == "win32":
        base = os.environ.get("PROGRAMDATA") if _is_admin() else os.environ.get("LOCALAPPDATA")
        return Path(base or Path.home()) / "rmmhub-agent"
    if _is_admin():
        if sys.platform == "darwin":
            return Path("/Library/Application Support/rmmhub-agent")
        return Path("/var/lib/rmmhub-agent")
    xdg = os.environ.get("XDG_STATE_HOME")
    return Path(xdg or Path.home() / ".local" / "state") / "rmmhub-agent"


def _is_admin() -> bool:
    return sys.platform != "win32" and os.geteuid() == 0


class StateStore:
    """Reads and writes the state directory; every write is atomic (temp file + rename)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    @property
    def spool_dir(self) -> Path:
        return self.state_dir / "spool"

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "ledger.json"

    def ensure(self) -> None:
        """Create the state directory (mode 0700) if needed."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if sys.platform != "win32":
            self.state_dir.chmod(0o700)

    def is_enrolled(self) -> bool:
        return (self.state_dir / STATE_FILE).is_file() and (self.state_dir / CREDENTIAL_FILE).is_file()

    def load(self) -> tuple[AgentState, str]:
        """Return the persisted state and credential.

        Raises:
            ConfigError: the agent is not enrolled or the state is unreadable.
        """
        if not self.is_enrolled():
            raise ConfigError(f"not enrolled: no state in {self.state_dir}; run `python -m agent enroll` first")
        try:
            state = AgentState.model_validate_json((self.state_dir / STATE_FILE).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(f"{self.state_dir / STATE_FILE} is corrupt ({exc}); re-enroll the agent") from exc
        credential = (self.state_dir / CREDENTIAL_FILE).read_text(encoding="utf-8").strip()
        return state, credential

    def save(self, state: AgentState, credential: str | None = None) -> None:
        """Persist ``state`` and, when given, the credential (mode 0600)."""
        self.ensure()
        if credential is not None:
            write_atomic(self.state_dir / CREDENTIAL_FILE, credential.encode(), mode=0o600)
        write_atomic(self.state_dir / STATE_FILE, state.model_dump_json(indent=2).encode(), mode=0o600)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a torn file.

    The temporary file is created with ``mode`` before any byte is written, fsynced, then renamed.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if sys.platform != "win32":
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
