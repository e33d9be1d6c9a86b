"""Pending OS updates (apt, dnf, softwareupdate, Windows Update) and how to install them.

Parsers take captured output and are unit tested; :func:`collect_patches` runs the tools, and
:func:`install_patches_command` returns the shell command an ``install_patches`` command runs.
"""

from __future__ import annotations

import json
import re
import shlex
import sys

from agent.collectors._exec import run_tool
from agent.protocol import MAX_PATCHES, Patch, Shell

_APT_INST = re.compile(r"^Inst (?P<pkg>\S+) (?:\[(?P<old>[^\]]*)\] )?\((?P<new>\S+) (?P<origin>[^\[]*)\[")
_DNF_LINE = re.compile(r"^(?P<pkg>[^\s]+)\.(?P<arch>[^\s.]+)\s+(?P<version>\S+)\s+(?P<repo>\S+)\s*$")
WINDOWS_UPDATE_SEARCH = (
    "$s = New-Object -ComObject Microsoft.Update.Session; "
    "$r = $s.CreateUpdateSearcher().Search('IsInstalled=0 and IsHidden=0'); "
    "ConvertTo-Json -Compress -InputObject @($r.Updates | ForEach-Object { [pscustomobject]@{ "
    "Title=$_.Title; KB=($_.KBArticleIDs -join ','); Severity=$_.MsrcSeverity; UpdateID=$_.Identity.UpdateID } })"
)


def parse_apt_simulate(text: str) -> list[Patch]:
    """Parse ``apt-get -s upgrade`` (stable output, unlike ``apt list``): one patch per ``Inst`` line."""
    patches = []
    for line in text.splitlines():
        match = _APT_INST.match(line)
        if match:
            old = match["old"] or "new"
            security = "security" in match["origin"].lower()
            patches.append(
                Patch(
                    id=match["pkg"],
                    title=f"{match['pkg']} {old} -> {match['new']}"[:255],
                    severity="security" if security else None,
                )
            )
    return patches


def parse_dnf_check_update(text: str) -> list[Patch]:
    """Parse ``dnf check-update`` (exit code 100 when updates exist); stops at ``Obsoleting Packages``."""
    patches = []
    for line in text.splitlines():
        if line.startswith("Obsoleting"):
            break
        match = _DNF_LINE.match(line)
        if match and not line.startswith(("Last metadata", "Security:")):
            patches.append(Patch(id=match["pkg"], title=f"{match['pkg']} {match['version']} ({match['repo']})"[:255]))
    return patches


def parse_softwareupdate(text: str) -> list[Patch]:
    """Parse ``softwareupdate -l`` (``* Label: X`` followed by a ``Title: ..., Recommended: YES`` line)."""
    patches: list[Patch] = []
    label: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("* Label:"):
            label = stripped.removeprefix("* Label:").strip()
        elif label and stripped.startswith("Title:"):
            title = stripped.removeprefix("Title:").split(",")[0].strip()
            recommended = "Recommended: YES" in stripped
            patches.append(Patch(id=label[:255], title=title[:255], severity="recommended" if recommended else None))
            label = None
    return patches


def parse_windows_updates(text: str) -> list[Patch]:
    """Parse the JSON of :data:`WINDOWS_UPDATE_SEARCH` (an object or a list of objects)."""
    if not text.strip():
        return []
    data = json.loads(text)
    items = data if isinstance(data, list) else [data]
    patches = []
    for item in items:
        kb = str(item.get("KB") or "").split(",")[0]
        ident = f"KB{kb}" if kb else str(item.get("UpdateID") or item.get("Title"))
        severity = item.get("Severity") or None
        patches.append(Patch(id=ident[:255], title=str(item.get("Title") or ident)[:255], severity=severity))
    return patches


def collect_patches() -> list[Patch] | None:
    """Pending updates, or ``None`` when no supported update tool is available here."""
    patches: list[Patch] | None = None
    if sys.platform == "win32":
        output = run_tool(
            ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command", WINDOWS_UPDATE_SEARCH], timeout=600
        )
        patches = parse_windows_updates(output) if output is not None else None
    elif sys.platform == "darwin":
        output = run_tool(["softwareupdate", "-l"], timeout=600)
        patches = parse_softwareupdate(output) if output is not None else None
    elif (output := run_tool(["apt-get", "-s", "-q", "upgrade"])) is not None:
        patches = parse_apt_simulate(output)
    elif (output := run_tool(["dnf", "-q", "check-update"], ok_codes=(0, 100), timeout=600)) is not None:
        patches = parse_dnf_check_update(output)
    return None if patches is None else patches[:MAX_PATCHES]


#: Appended to the Linux install: says when the OS wants a reboot (Debian/Ubuntu's flag file, whose path
#: ``RMMHUB_REBOOT_REQUIRED_FILE`` may override; ``needs-restarting -r`` on dnf systems), so the hub's
#: patch policies know whether to reboot. The hub looks for the line ``rmmhub: reboot required``.
REBOOT_CHECK = (
    'if [ -f "${RMMHUB_REBOOT_REQUIRED_FILE:-/var/run/reboot-required}" ]; then echo "rmmhub: reboot required"; '
    "elif command -v needs-restarting >/dev/null 2>&1 && ! needs-restarting -r >/dev/null 2>&1; then "
    'echo "rmmhub: reboot required"; fi'
)


def install_patches_command(patch_ids: list[str], platform_name: str = sys.platform) -> tuple[Shell, str]:
    """The shell and command line that install ``patch_ids`` (all pending ones when empty)."""
    if platform_name == "win32":
        kbs = ",".join(f"'{pid.removeprefix('KB')}'" for pid in patch_ids if re.fullmatch(r"KB?\d+", pid))
        select = f"| Where-Object {{ @({kbs}) -contains $_.KBArticleIDs[0] }}" if kbs else ""
        script = (
            "$s = New-Object -ComObject Microsoft.Update.Session; "
            "$u = $s.CreateUpdateSearcher().Search('IsInstalled=0 and IsHidden=0').Updates; "
            "$c = New-Object -ComObject Microsoft.Update.UpdateColl; "
            f"$u {select} | ForEach-Object {{ $_.AcceptEula(); [void]$c.Add($_) }}; "
            "if ($c.Count -eq 0) { 'nothing to install'; exit 0 }; "
            "$d = $s.CreateUpdateDownloader(); $d.Updates = $c; [void]$d.Download(); "
            "$i = $s.CreateUpdateInstaller(); $i.Updates = $c; $r = $i.Install(); "
            '"result=$($r.ResultCode) reboot=$($r.RebootRequired)"; if ($r.ResultCode -ne 2) { exit 1 }'
        )
        return Shell.POWERSHELL, script
    quoted = " ".join(shlex.quote(pid) for pid in patch_ids)
    if platform_name == "darwin":
        return Shell.SH, f"softwareupdate -i {quoted}" if quoted else "softwareupdate -i -a"
    apt = f"apt-get install -y --only-upgrade {quoted}" if quoted else "apt-get upgrade -y"
    dnf = f"dnf -y upgrade {quoted}".rstrip()
    return Shell.SH, (
        "if command -v apt-get >/dev/null 2>&1; then export DEBIAN_FRONTEND=noninteractive; "
        f"apt-get update -q && {apt}; else {dnf}; fi; rc=$?; {REBOOT_CHECK}; exit $rc"
    )
