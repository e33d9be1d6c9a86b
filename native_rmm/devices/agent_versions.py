"""Agent versions: how they sort, and whether a device's agent is behind the hub's current release."""

from __future__ import annotations

import re

from agent.protocol import OsFamily

VERSION = re.compile(r"^\d+(\.\d+){0,3}$")
#: Agents that update themselves: Linux (single-file or wheel), Windows and macOS (the wheel, uv layout).
UPDATABLE = frozenset({OsFamily.LINUX, OsFamily.WINDOWS, OsFamily.MACOS})


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a dotted version; non-numeric versions sort first."""
    return tuple(int(part) for part in version.split(".")) if VERSION.fullmatch(version) else ()


def is_outdated(agent_version: str, os_family: str | None, latest: str | None, *, managed: bool = True) -> bool:
    """Whether an agent reporting ``agent_version`` should update to ``latest`` (managed: not demo/quick)."""
    if not managed or latest is None or os_family not in UPDATABLE or not agent_version:
        return False
    return version_key(agent_version) < version_key(latest)
