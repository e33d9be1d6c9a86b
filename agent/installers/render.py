"""Render the per-OS installer scripts for one installer token (pure Python, no server imports).

The hub serves, for an installer token, ``<hub>/install/<token>/linux|macos|windows`` by calling
:func:`render_installer`, and shows the one-liners from :func:`install_command` in Admin -> Agent
installers. Assumption the installers rely on: the hub serves the agent wheel (built from this
directory, ``pip wheel ./agent``) at ``<hub_url>/agent/v1/download/agent.whl``
(:data:`agent.protocol.WHEEL_PATH`), built from the same version as this module
(``agent.__version__``, which names the downloaded file for pip).

Substitution is safe: values are validated, then quoted for the target language (POSIX shell
single quotes via :func:`shlex.quote`; PowerShell single-quoted strings with ``'`` doubled), so a
token or URL can never inject code into the installer.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from importlib import resources
from typing import Literal
from urllib.parse import urlsplit

from agent import __version__

InstallerOs = Literal["linux", "macos", "windows"]
_TEMPLATES: dict[InstallerOs, str] = {"linux": "linux.sh", "macos": "macos.sh", "windows": "windows.ps1"}
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{8,512}$")
_NAME = re.compile(r"^[a-z0-9_-]{1,32}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
PLIST_TEMPLATE = "com.rmmhub.agent.plist"


class InstallerError(ValueError):
    """An installer cannot be rendered from these values (bad URL, token or OS)."""


def _template(name: str) -> str:
    return (resources.files("agent.installers") / name).read_text(encoding="utf-8")


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InstallerError(f"hub URL must be http(s)://host[:port][/path] without query: {url!r}")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InstallerError("hub URL must not contain whitespace or control characters")
    return url.rstrip("/")


def _ps_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def render_launchd_plist(prefix: str) -> str:
    """The launchd daemon plist for an agent installed under ``prefix`` (as macos.sh writes it)."""
    if not re.fullmatch(r"/[A-Za-z0-9/._-]+", prefix):
        raise InstallerError(f"prefix must be an absolute path of [A-Za-z0-9/._-]: {prefix!r}")
    return _template(PLIST_TEMPLATE).replace("__PREFIX__", prefix)


def _digests(values: Mapping[str, str]) -> str:
    """``"name:sha256 ..."`` after checking every name and digest (so the list is safe to quote)."""
    for name, digest in values.items():
        if not _NAME.fullmatch(name) or not _SHA256.fullmatch(digest):
            raise InstallerError(f"bad artifact name or SHA-256: {name!r}")
    return " ".join(f"{name}:{digest}" for name, digest in sorted(values.items()))


def render_installer(
    os: InstallerOs,
    *,
    hub_url: str,
    token: str,
    quick_support: bool = False,
    binaries: Mapping[str, str] | None = None,
    uv: Mapping[str, str] | None = None,
    python_mirror: str | None = None,
) -> str:
    """The installer script for ``os`` with the hub URL and installer token substituted.

    ``binaries`` maps a Linux arch to the SHA-256 of the single-file agent the hub serves for it;
    ``uv`` maps a platform (``windows-x86_64``, ``macos-aarch64``...) to the SHA-256 of the uv
    binary it serves; ``python_mirror`` is where uv fetches CPython (``RMMHUB_AGENT_PYTHON_MIRROR``).

    Raises:
        InstallerError: unknown OS, or a URL/token/digest that is not acceptable.
    """
    if os not in _TEMPLATES:
        raise InstallerError(f"unknown installer OS {os!r}; expected one of {sorted(_TEMPLATES)}")
    url = _check_url(hub_url)
    if not _TOKEN.fullmatch(token):
        raise InstallerError("installer token must be 8-512 characters of [A-Za-z0-9._~+/=-]")
    script = _template(_TEMPLATES[os])
    mirror = _check_url(python_mirror) if python_mirror else ""
    uv_list = _digests(uv or {})
    if os == "windows":
        values = {
            "@@HUB_URL@@": _ps_quote(url),
            "@@TOKEN@@": _ps_quote(token),
            "@@QUICK_SUPPORT_PS@@": "$true" if quick_support else "$false",
            "@@AGENT_VERSION@@": _ps_quote(__version__),
            "@@UV@@": _ps_quote(uv_list),
            "@@PYTHON_MIRROR@@": _ps_quote(mirror),
        }
    else:
        values = {
            "@@HUB_URL@@": shlex.quote(url),
            "@@TOKEN@@": shlex.quote(token),
            "@@QUICK_SUPPORT@@": "1" if quick_support else "0",
            "@@AGENT_VERSION@@": shlex.quote(__version__),
            "@@PLIST@@": _template(PLIST_TEMPLATE).rstrip("\n"),
            "@@BINARIES@@": shlex.quote(_digests(binaries or {})),
            "@@UV@@": shlex.quote(uv_list),
            "@@PYTHON_MIRROR@@": shlex.quote(mirror),
        }
    for placeholder, value in values.items():
        script = script.replace(placeholder, value)
    if "@@" in script:
        raise InstallerError(f"template {_TEMPLATES[os]} has an unknown placeholder")
    return script


def install_command(os: InstallerOs, url: str, *, quick_support: bool = False) -> str:
    """The one-liner an operator copies, for the installer served at ``url`` (``.../install/<token>``).

    ``url`` is the installer base; the OS is appended as the last path segment, as the seed shows.
    A quick-support session runs as the end user in the foreground, so it is not piped to ``sudo``.
    """
    base = _check_url(url)
    if os == "windows":
        target = base + "/windows"
        quoted = target if re.fullmatch(r"[A-Za-z0-9:/._~%-]+", target) else _ps_quote(target)
        return f"iwr -UseBasicParsing {quoted} | iex"
    if os in ("linux", "macos"):
        shell = "bash" if quick_support else "sudo bash"
        return f"curl -fsSL {shlex.quote(base + '/' + os)} | {shell}"
    raise InstallerError(f"unknown installer OS {os!r}")
