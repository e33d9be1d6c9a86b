"""RustDesk for unattended access, when the installer opted in (the hub sends a :class:`RustDeskSetup`).

At enrollment the setup is kept in ``rustdesk.json`` (mode 0600, it holds the permanent password
until it is set). The runtime then, in a worker thread:

1. finds the client (``rustdesk`` on PATH, else where each OS's package puts it); when it is
   missing, downloads the package the hub names for this OS (``linux-deb`` / ``linux-rpm`` /
   ``linux-appimage`` / ``windows`` / ``macos``; SHA-256 checked when the hub gave one) and runs
   the install steps (:func:`install_script`: ``apt-get``/``dnf`` or the AppImage copied to
   ``/usr/local/bin/rustdesk``; the Windows installer's ``--silent-install``; the macOS dmg
   mounted and ``RustDesk.app`` copied to ``/Applications``);
2. configures it with ``rustdesk --config <string>`` (ID/relay server and key, the string
   RustDesk's "export server config" produces) when the installer named a server;
3. sets the permanent password (``rustdesk --password <pw>``) and forgets it (``rustdesk.json``
   keeps only ``done``);
4. reads the ID (``rustdesk --get-id``) and hands a :class:`RustDeskReport` to the next check-in.

After a restart only step 4 runs (the ID is reported again). Failures are reported with the reason
(``RustDeskReport.error``) and never stop the agent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Literal

import httpx
from pydantic import ValidationError

from agent.config import write_atomic
from agent.protocol import RustDeskReport, RustDeskSetup, rustdesk_config_string

log = logging.getLogger(__name__)
SETUP_FILE = "rustdesk.json"
COMMAND_TIMEOUT_SECONDS = 120.0
INSTALL_TIMEOUT_SECONDS = 900.0
PackageKind = Literal["linux-deb", "linux-rpm", "linux-appimage", "windows", "macos"]
_TEMPLATES: dict[str, str] = {
    "linux": "rustdesk_linux.sh",
    "macos": "rustdesk_macos.sh",
    "windows": "rustdesk_windows.ps1",
}
#: Where each OS's package puts the client when it is not on PATH.
DEFAULT_CLIENTS: dict[str, tuple[str, ...]] = {
    "linux": ("/usr/bin/rustdesk", "/usr/local/bin/rustdesk"),
    "macos": ("/Applications/RustDesk.app/Contents/MacOS/RustDesk",),
    "windows": (r"C:\Program Files\RustDesk\rustdesk.exe",),
}
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RustDeskError(RuntimeError):
    """A RustDesk step failed; the message is what the hub shows."""


def this_os() -> str:
    if sys.platform == "win32":
        return "windows"
    return "macos" if sys.platform == "darwin" else "linux"


def package_kind(os_name: str, which: Callable[[str], str | None] = shutil.which) -> PackageKind:
    """The package this machine takes: Debian/RPM family by their tools, else the AppImage."""
    if os_name == "windows":
        return "windows"
    if os_name == "macos":
        return "macos"
    if which("apt-get") and which("dpkg"):
        return "linux-deb"
    if which("rpm") and (which("dnf") or which("yum") or which("zypper")):
        return "linux-rpm"
    return "linux-appimage"


def _ps_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def install_script(kind: PackageKind, package: str) -> str:
    """The install steps for ``kind`` with the downloaded ``package`` path substituted (quoted)."""
    os_name = "windows" if kind == "windows" else "macos" if kind == "macos" else "linux"
    script = (resources.files("agent.installers") / _TEMPLATES[os_name]).read_text(encoding="utf-8")
    quote = _ps_quote if os_name == "windows" else shlex.quote
    return script.replace("@@PACKAGE@@", quote(package)).replace("@@KIND@@", quote(kind))


def find_client(os_name: str) -> str | None:
    """The RustDesk executable: ``rustdesk`` on PATH, else the package's default location."""
    found = shutil.which("rustdesk")
    if found:
        return found
    return next((path for path in DEFAULT_CLIENTS[os_name] if Path(path).is_file()), None)


def _run(argv: list[str], timeout: float = COMMAND_TIMEOUT_SECONDS) -> str:
    shown = " ".join(argv[:2])  # never the password
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RustDeskError(f"{shown} failed: {exc.__class__.__name__}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-300:]
        raise RustDeskError(f"{shown} exited with {done.returncode}: {tail}")
    return done.stdout


def _download(url: str, hub_url: str, expected: str | None, target: Path) -> None:
    full = url if re.match(r"^https?://", url) else hub_url.rstrip("/") + "/" + url.lstrip("/")
    try:
        with httpx.stream("GET", full, timeout=300.0, follow_redirects=True) as response:
            if response.status_code != 200:
                raise RustDeskError(f"downloading the RustDesk package from {full} failed: HTTP {response.status_code}")
            digest = hashlib.sha256()
            with target.open("wb") as out:
                for chunk in response.iter_bytes():
                    digest.update(chunk)
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise RustDeskError(f"downloading the RustDesk package from {full} failed: {exc}") from exc
    if expected is not None and digest.hexdigest() != expected:
        raise RustDeskError(f"refused the RustDesk package: SHA-256 {digest.hexdigest()}, published {expected}")


def install_client(setup: RustDeskSetup, hub_url: str, os_name: str, *, kind: PackageKind | None = None) -> str:
    """Download and install the client for this OS (``kind``: this machine's); return its path."""
    kind = kind or package_kind(os_name)
    url = setup.packages.get(kind)
    if not url:
        raise RustDeskError(f"RustDesk is not installed and the hub offers no {kind} package for it")
    with tempfile.TemporaryDirectory(prefix="rmmhub-rustdesk-") as tmp:
        suffix = {"linux-deb": ".deb", "linux-rpm": ".rpm", "linux-appimage": ".AppImage", "windows": ".exe",
                  "macos": ".dmg"}[kind]  # fmt: skip
        package = Path(tmp) / f"rustdesk{suffix}"
        _download(url, hub_url, setup.sha256.get(kind), package)
        script = Path(tmp) / ("install.ps1" if os_name == "windows" else "install.sh")
        script.write_text(install_script(kind, str(package)), encoding="utf-8")
        shell = (
            ["powershell", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File"] if os_name == "windows" else ["bash"]
        )
        log.info("installing RustDesk (%s)", kind)
        _run([*shell, str(script)], timeout=INSTALL_TIMEOUT_SECONDS)
    client = find_client(os_name)
    if client is None:
        raise RustDeskError(f"the {kind} package installed, but no RustDesk executable was found afterwards")
    return client


def read_id(client: str) -> str:
    """``rustdesk --get-id``, checked."""
    rustdesk_id = _run([client, "--get-id"]).strip().splitlines()[-1:] or [""]
    if not _ID.fullmatch(rustdesk_id[0]):
        raise RustDeskError(f"rustdesk --get-id gave no ID (output {rustdesk_id[0][:64]!r}); is its service running?")
    return rustdesk_id[0]


def configure(setup: RustDeskSetup, hub_url: str, os_name: str | None = None) -> str:
    """Install (when missing), configure, set the password; return the RustDesk ID."""
    os_name = os_name or this_os()
    client = find_client(os_name) or install_client(setup, hub_url, os_name)
    if setup.id_server:
        _run([client, "--config", rustdesk_config_string(setup.id_server, setup.relay_server, setup.key)])
    _run([client, "--password", setup.password])
    return read_id(client)


def save_setup(state_dir: Path, setup: RustDeskSetup) -> None:
    """Keep the setup until the runtime has applied it (0600: it holds the password)."""
    write_atomic(state_dir / SETUP_FILE, setup.model_dump_json().encode(), mode=0o600)


def run_pending(state_dir: Path, hub_url: str) -> RustDeskReport | None:
    """Apply a pending setup, or re-read the ID of a done one; None when RustDesk was not asked for."""
    path = state_dir / SETUP_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return RustDeskReport(error=f"{SETUP_FILE} is unreadable: {exc.__class__.__name__}")
    try:
        if raw.get("done"):
            client = find_client(this_os())
            if client is None:
                raise RustDeskError("RustDesk was set up, but its executable is gone")
            return RustDeskReport(id=read_id(client))
        setup = RustDeskSetup.model_validate(raw)
        rustdesk_id = configure(setup, hub_url)
    except ValidationError:
        return RustDeskReport(error=f"{SETUP_FILE} does not hold a RustDesk setup")
    except RustDeskError as exc:
        log.error("RustDesk: %s", exc)
        return RustDeskReport(error=str(exc)[:4000])
    write_atomic(path, json.dumps({"done": True}).encode(), mode=0o600)
    log.info("RustDesk set up; ID %s", rustdesk_id)
    return RustDeskReport(id=rustdesk_id)
