"""How this endpoint takes part in remote sessions, from ``RMMHUB_AGENT_*`` variables.

- ``RMMHUB_AGENT_VNC_PORT``: the local VNC server's port on 127.0.0.1 (default 5900).
- ``RMMHUB_AGENT_FILE_LIMIT``: the largest file the Files tab may move, in bytes (default 2 GiB).
- ``RMMHUB_AGENT_CONSENT_HEADLESS``: ``accept`` or ``deny`` a connection request that needs the
  end user's consent when no desktop session can show the dialog (default ``deny``).
- ``RMMHUB_AGENT_CONSENT_COMMAND``: a program that asks the end user (its exit status 0 means yes);
  by default zenity or xmessage on Linux, osascript on macOS, or a PowerShell Yes/No box in the
  logged-in user's session on Windows (the headless setting answers when nobody is logged on).
- ``RMMHUB_AGENT_CONSENT_TIMEOUT``: seconds the end user has to answer (default 30; no answer declines).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

DEFAULT_VNC_PORT = 5900
DEFAULT_FILE_LIMIT = 2 << 30
DEFAULT_CONSENT_TIMEOUT = 30.0


class RemoteSettingsError(ValueError):
    """A remote-session variable has a value the agent cannot use (the message names it)."""


@dataclass(frozen=True)
class RemoteSettings:
    """The endpoint's remote-session settings."""

    vnc_port: int = DEFAULT_VNC_PORT
    file_limit: int = DEFAULT_FILE_LIMIT
    consent_headless: Literal["accept", "deny"] = "deny"
    consent_command: str = ""
    consent_timeout: float = DEFAULT_CONSENT_TIMEOUT

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RemoteSettings:
        """Read the variables (unset ones keep their defaults)."""
        env = os.environ if environ is None else environ

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise RemoteSettingsError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
            return int(raw)

        headless = env.get("RMMHUB_AGENT_CONSENT_HEADLESS", "deny").strip().lower() or "deny"
        if headless not in ("accept", "deny"):
            raise RemoteSettingsError(f"RMMHUB_AGENT_CONSENT_HEADLESS must be accept or deny, not {headless!r}")
        return cls(
            vnc_port=integer("RMMHUB_AGENT_VNC_PORT", DEFAULT_VNC_PORT, 1, 65535),
            file_limit=integer("RMMHUB_AGENT_FILE_LIMIT", DEFAULT_FILE_LIMIT, 1, 1 << 50),
            consent_headless="accept" if headless == "accept" else "deny",
            consent_command=env.get("RMMHUB_AGENT_CONSENT_COMMAND", "").strip(),
            consent_timeout=float(integer("RMMHUB_AGENT_CONSENT_TIMEOUT", int(DEFAULT_CONSENT_TIMEOUT), 1, 3600)),
        )
