"""Operating system family, name and version."""

from __future__ import annotations

import platform
import shlex
import sys
from pathlib import Path

from agent.collectors._exec import run_tool
from agent.protocol import OsFamily


def os_family(platform_name: str = sys.platform) -> OsFamily:
    """The protocol's OS family for a ``sys.platform`` value."""
    if platform_name == "win32":
        return OsFamily.WINDOWS
    if platform_name == "darwin":
        return OsFamily.MACOS
    return OsFamily.LINUX


def parse_os_release(text: str) -> tuple[str, str]:
    """``(name, version)`` from ``/etc/os-release`` content (shell-style ``KEY=value`` lines)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, raw = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            parts = shlex.split(raw, comments=False, posix=True)
            values[key.strip()] = parts[0] if parts else ""
    name = values.get("NAME") or values.get("ID") or "Linux"
    version = values.get("VERSION") or values.get("VERSION_ID") or values.get("BUILD_ID") or ""
    return name, version


def parse_sw_vers(text: str) -> tuple[str, str]:
    """``(name, version)`` from ``sw_vers`` output, e.g. ``("macOS", "14.4.1 (23E224)")``."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    version = values.get("ProductVersion", "")
    if build := values.get("BuildVersion"):
        version = f"{version} ({build})"
    return values.get("ProductName", "macOS"), version


def os_name_version() -> tuple[str, str]:
    """Name and version of the running OS, from the OS's own record where it has one."""
    family = os_family()
    if family is OsFamily.LINUX:
        for candidate in (Path("/etc/os-release"), Path("/usr/lib/os-release")):
            if candidate.is_file():
                return parse_os_release(candidate.read_text(encoding="utf-8", errors="replace"))
        return "Linux", platform.release()
    if family is OsFamily.MACOS:
        output = run_tool(["sw_vers"])
        return parse_sw_vers(output) if output else ("macOS", platform.mac_ver()[0])
    release, version, _, _ = platform.win32_ver()
    edition = platform.win32_edition() or ""
    return f"Windows {release} {edition}".strip(), version
