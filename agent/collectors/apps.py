"""Installed applications: dpkg / rpm on Linux, Homebrew and /Applications on macOS, the uninstall
registry keys on Windows. Parsers take captured output; :func:`collect_applications` runs the tools.
"""

from __future__ import annotations

import logging
import plistlib
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from agent.collectors._exec import run_tool
from agent.protocol import MAX_APPLICATIONS, Application

log = logging.getLogger(__name__)
DPKG_FORMAT = r"${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${Maintainer}\n"
RPM_FORMAT = r"%{NAME}\t%{VERSION}-%{RELEASE}\t%{VENDOR}\n"
UNINSTALL_KEYS = (
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
    r"SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
)


def _app(name: str, version: str = "", publisher: str = "") -> Application:
    return Application(name=name.strip()[:255], version=version.strip()[:255], publisher=publisher.strip()[:255])


def parse_dpkg_query(text: str) -> list[Application]:
    """Parse ``dpkg-query -W -f DPKG_FORMAT``; only fully installed (``ii``) packages count."""
    apps = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0].strip() == "ii":
            apps.append(_app(fields[1], fields[2], fields[3] if len(fields) > 3 else ""))
    return apps


def parse_rpm_query(text: str) -> list[Application]:
    """Parse ``rpm -qa --qf RPM_FORMAT``; GPG key pseudo-packages are skipped."""
    apps = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0] and fields[0] != "gpg-pubkey":
            vendor = fields[2] if len(fields) > 2 and fields[2] != "(none)" else ""
            apps.append(_app(fields[0], fields[1], vendor))
    return apps


def parse_brew_versions(text: str) -> list[Application]:
    """Parse ``brew list --versions`` (``name v1 [v2 ...]``; the last version is the newest)."""
    apps = []
    for line in text.splitlines():
        parts = line.split()
        if parts:
            apps.append(_app(parts[0], parts[-1] if len(parts) > 1 else "", "Homebrew"))
    return apps


def parse_info_plist(data: bytes, bundle_name: str) -> Application:
    """An ``.app`` bundle's ``Contents/Info.plist`` as an application."""
    info = plistlib.loads(data)
    name = info.get("CFBundleDisplayName") or info.get("CFBundleName") or bundle_name.removesuffix(".app")
    version = info.get("CFBundleShortVersionString") or info.get("CFBundleVersion") or ""
    identifier = str(info.get("CFBundleIdentifier") or "")
    publisher = ".".join(identifier.split(".")[:2]) if identifier.count(".") >= 2 else identifier
    return _app(str(name), str(version), publisher)


def app_from_uninstall_values(values: Mapping[str, object]) -> Application | None:
    """An entry of a Windows uninstall registry key, or ``None`` for hidden components and updates."""
    name = values.get("DisplayName")
    if not isinstance(name, str) or not name.strip():
        return None
    if (
        values.get("SystemComponent") == 1
        or values.get("ParentKeyName")
        or values.get("ReleaseType") in ("Update", "Hotfix", "Security Update")
    ):
        return None
    return _app(name, str(values.get("DisplayVersion") or ""), str(values.get("Publisher") or ""))


def dedupe(apps: Iterable[Application]) -> list[Application]:
    """Unique by (name, version, publisher), sorted by name, capped at ``MAX_APPLICATIONS``."""
    unique = {(app.name.lower(), app.version, app.publisher): app for app in apps}
    return [unique[key] for key in sorted(unique)][:MAX_APPLICATIONS]


def _macos_bundles(root: Path) -> list[Application]:
    apps = []
    for bundle in sorted(root.glob("*.app")):
        try:
            apps.append(parse_info_plist((bundle / "Contents" / "Info.plist").read_bytes(), bundle.name))
        except (OSError, plistlib.InvalidFileException, ValueError) as exc:
            log.debug("skipping %s: %s", bundle, exc)
    return apps


def _windows_registry() -> list[Application]:
    apps: list[Application] = []
    if sys.platform != "win32":  # winreg exists only on Windows (mypy checks this per platform)
        return apps
    import winreg

    for hive in (winreg.HKEY_LOCAL_MACHINE, winreg.HKEY_CURRENT_USER):
        for path in UNINSTALL_KEYS:
            try:
                key = winreg.OpenKey(hive, path)
            except OSError:
                continue
            with key:
                for index in range(winreg.QueryInfoKey(key)[0]):
                    with winreg.OpenKey(key, winreg.EnumKey(key, index)) as sub:
                        values = dict(winreg.EnumValue(sub, i)[:2] for i in range(winreg.QueryInfoKey(sub)[1]))
                    if app := app_from_uninstall_values(values):
                        apps.append(app)
    return apps


def collect_applications() -> list[Application]:
    """Installed applications of this machine (empty when no known package source answers)."""
    if sys.platform == "win32":
        return dedupe(_windows_registry())
    if sys.platform == "darwin":
        apps = _macos_bundles(Path("/Applications"))
        if brew := run_tool(["brew", "list", "--versions"]):
            apps += parse_brew_versions(brew)
        return dedupe(apps)
    if dpkg := run_tool(["dpkg-query", "-W", "-f", DPKG_FORMAT]):
        return dedupe(parse_dpkg_query(dpkg))
    if rpm := run_tool(["rpm", "-qa", "--qf", RPM_FORMAT]):
        return dedupe(parse_rpm_query(rpm))
    return []
