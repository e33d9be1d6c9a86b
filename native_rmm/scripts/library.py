"""The default script library a new organisation starts with: everyday fixes for each OS.

Seeded once per organisation that has no scripts (idempotent; see :func:`seed_default_scripts`).
Descriptions and slugs avoid destructive verbs on purpose only where the script really is not
destructive: the policy classifier reads them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import Shell
from hub.core.caller import Caller
from native_rmm.models.scripts import Script, ScriptOsType
from native_rmm.scripts.schemas import ScriptIn
from native_rmm.scripts.service import create_script
from policies.pipeline import Gate

W, L, M = ScriptOsType.WINDOWS, ScriptOsType.LINUX, ScriptOsType.MACOS
DAYS: dict[str, Any] = {
    "type": "integer",
    "minimum": 1,
    "maximum": 365,
    "default": 7,
    "title": "Age in days",
    "description": "only temporary files older than this many days are cleared",
}
TOP: dict[str, Any] = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "minimum": 1, "maximum": 100, "default": 15, "title": "How many processes"},
        "sort_by": {"type": "string", "enum": ["cpu", "memory"], "default": "cpu", "title": "Sort by"},
    },
}

_WIN_CLEANUP = r"""$ErrorActionPreference = 'Continue'
$days = [int]$env:RMM_PARAM_DAYS
$cutoff = (Get-Date).AddDays(-$days)
$before = (Get-PSDrive C).Free
foreach ($dir in @("$env:SystemRoot\Temp", 'C:\Users\*\AppData\Local\Temp')) {
  Get-ChildItem -Path $dir -Recurse -Force -ErrorAction SilentlyContinue |
    Where-Object { -not $_.PSIsContainer -and $_.LastWriteTime -lt $cutoff } |
    Remove-Item -Force -ErrorAction SilentlyContinue
}
if ($env:RMM_PARAM_EMPTY_RECYCLE_BIN -eq 'true') { Clear-RecycleBin -Force -ErrorAction SilentlyContinue }
$freed = ((Get-PSDrive C).Free - $before) / 1MB
Write-Output ("Freed {0:N1} MiB on C: (temporary files older than {1} days)" -f $freed, $days)
"""
_LINUX_CLEANUP = r"""set -u
days="${RMM_PARAM_DAYS:-7}"
before=$(df --output=avail -k / | tail -1)
find /tmp /var/tmp -xdev -type f -mtime +"$days" -print0 2>/dev/null | xargs -0 -r rm -f --
if command -v apt-get >/dev/null; then apt-get clean; fi
if command -v dnf >/dev/null; then dnf -q clean packages; fi
if command -v journalctl >/dev/null; then journalctl --vacuum-size="${RMM_PARAM_JOURNAL_MAX_MB:-500}M" >/dev/null 2>&1; fi
after=$(df --output=avail -k / | tail -1)
echo "Freed $(( (after - before) / 1024 )) MiB on / (temporary files older than $days days, package caches, journal)"
df -h /
"""
_MAC_CLEANUP = r"""set -u
days="${RMM_PARAM_DAYS:-7}"
find /private/tmp /private/var/tmp -xdev -type f -mtime +"$days" -print0 2>/dev/null | xargs -0 rm -f --
for home in /Users/*; do
  [ -d "$home/Library/Caches" ] && find "$home/Library/Caches" -type f -mtime +"$days" -print0 2>/dev/null | xargs -0 rm -f --
done
echo "Cleared temporary and cache files older than $days days"
df -h /
"""
_WIN_SPOOLER = r"""$ErrorActionPreference = 'Stop'
Stop-Service -Name Spooler -Force
if ($env:RMM_PARAM_CLEAR_QUEUE -eq 'true') {
  Get-ChildItem "$env:SystemRoot\System32\spool\PRINTERS" -File | Remove-Item -Force
  Write-Output 'Cleared stuck print jobs'
}
Start-Service -Name Spooler
Get-Service -Name Spooler | Format-Table -AutoSize Name, Status
"""
_TOP_WIN = r"""$n = [int]$env:RMM_PARAM_COUNT
$key = if ($env:RMM_PARAM_SORT_BY -eq 'memory') { 'WorkingSet64' } else { 'CPU' }
Get-Process | Sort-Object -Property $key -Descending | Select-Object -First $n Id, ProcessName,
  @{n='CPU(s)';e={[math]::Round($_.CPU,1)}}, @{n='Memory(MiB)';e={[math]::Round($_.WorkingSet64/1MB,1)}} |
  Format-Table -AutoSize
"""
_TOP_LINUX = r"""n="${RMM_PARAM_COUNT:-15}"
if [ "${RMM_PARAM_SORT_BY:-cpu}" = memory ]; then key=-%mem; else key=-%cpu; fi
uptime
ps -eo pid,user,%cpu,%mem,rss,etime,comm --sort="$key" | head -n "$((n + 1))"
"""
_TOP_MAC = r"""n="${RMM_PARAM_COUNT:-15}"
if [ "${RMM_PARAM_SORT_BY:-cpu}" = memory ]; then flag=-m; else flag=-r; fi
uptime
ps -Aco pid,user,%cpu,%mem,rss,etime,comm "$flag" | head -n "$((n + 1))"
"""


def _params(**props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props}


DEFAULT_SCRIPTS: list[ScriptIn] = [
    ScriptIn(
        name="Disk cleanup (Windows)",
        os_type=W,
        shell=Shell.POWERSHELL,
        body=_WIN_CLEANUP,
        description="Frees space on C: by clearing old temporary files; optionally empties the recycle bin.",
        parameters=_params(
            days=DAYS, empty_recycle_bin={"type": "boolean", "default": False, "title": "Empty the recycle bin too"}
        ),
    ),
    ScriptIn(
        name="Disk cleanup (Linux)",
        os_type=L,
        shell=Shell.BASH,
        body=_LINUX_CLEANUP,
        description="Frees space by clearing old temporary files, package caches and old journal logs.",
        parameters=_params(
            days=DAYS,
            journal_max_mb={
                "type": "integer",
                "minimum": 50,
                "maximum": 100000,
                "default": 500,
                "title": "Journal size to keep (MiB)",
            },
        ),
    ),
    ScriptIn(
        name="Disk cleanup (macOS)",
        os_type=M,
        shell=Shell.BASH,
        body=_MAC_CLEANUP,
        description="Frees space by clearing old temporary and user cache files.",
        parameters=_params(days=DAYS),
    ),
    ScriptIn(
        name="Restart print spooler",
        os_type=W,
        shell=Shell.POWERSHELL,
        body=_WIN_SPOOLER,
        description="Restarts the Windows print spooler; optionally clears stuck print jobs first.",
        parameters=_params(clear_queue={"type": "boolean", "default": False, "title": "Clear stuck jobs"}),
    ),
    ScriptIn(
        name="Restart CUPS (Linux)",
        os_type=L,
        shell=Shell.BASH,
        body="systemctl restart cups && systemctl --no-pager status cups | head -n 5\nlpstat -p 2>/dev/null\n",
        description="Restarts the CUPS printing service and lists printers.",
    ),
    ScriptIn(
        name="Restart CUPS (macOS)",
        os_type=M,
        shell=Shell.BASH,
        body="launchctl kickstart -k system/org.cups.cupsd && echo 'cupsd restarted'\nlpstat -p 2>/dev/null\n",
        description="Restarts the macOS printing service (cupsd) and lists printers.",
    ),
    ScriptIn(
        name="Flush DNS cache (Windows)",
        os_type=W,
        shell=Shell.POWERSHELL,
        body="Clear-DnsClientCache\nipconfig /flushdns\nWrite-Output 'DNS client cache flushed'\n",
        description="Flushes the Windows DNS client cache (after DNS changes or stale records).",
    ),
    ScriptIn(
        name="Flush DNS cache (Linux)",
        os_type=L,
        shell=Shell.BASH,
        body=(
            "if command -v resolvectl >/dev/null; then resolvectl flush-caches && echo 'systemd-resolved "
            "cache flushed'; fi\nif command -v nscd >/dev/null; then nscd -i hosts && echo 'nscd hosts "
            "cache flushed'; fi\nif systemctl is-active --quiet dnsmasq; then systemctl restart dnsmasq && "
            "echo 'dnsmasq restarted'; fi\n"
        ),
        description="Flushes the local DNS cache (systemd-resolved, nscd or dnsmasq, whichever is used).",
    ),
    ScriptIn(
        name="Flush DNS cache (macOS)",
        os_type=M,
        shell=Shell.BASH,
        body="dscacheutil -flushcache\nkillall -HUP mDNSResponder\necho 'DNS cache flushed'\n",
        description="Flushes the macOS DNS cache (dscacheutil and mDNSResponder).",
    ),
    ScriptIn(
        name="Top processes (Windows)",
        os_type=W,
        shell=Shell.POWERSHELL,
        body=_TOP_WIN,
        description="Lists the processes using the most CPU time or memory.",
        parameters=TOP,
    ),
    ScriptIn(
        name="Top processes (Linux)",
        os_type=L,
        shell=Shell.BASH,
        body=_TOP_LINUX,
        description="Lists the processes using the most CPU or memory, with the load average.",
        parameters=TOP,
    ),
    ScriptIn(
        name="Top processes (macOS)",
        os_type=M,
        shell=Shell.BASH,
        body=_TOP_MAC,
        description="Lists the processes using the most CPU or memory, with the load average.",
        parameters=TOP,
    ),
]


async def seed_default_scripts(session: AsyncSession, gate: Gate, *, actor: Caller) -> int:
    """Add :data:`DEFAULT_SCRIPTS` to the actor's organisation when it has no scripts; returns how many."""
    count = (await session.execute(select(func.count(Script.id)).where(Script.org_id == actor.org_id))).scalar_one()
    if count:
        return 0
    for data in DEFAULT_SCRIPTS:
        await create_script(session, gate, actor=actor, data=data, builtin=True)
    return len(DEFAULT_SCRIPTS)
