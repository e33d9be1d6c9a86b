"""Hardware model, manufacturer, serial and CPU model: DMI on Linux, system_profiler, CIM.

psutil has no answer for these. Each source is a parser (unit tested with captured output) plus a
small runner; anything unreadable (a serial number without root, a VM without DMI) stays ``None``.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from agent.collectors._exec import run_tool

DMI_DIR = Path("/sys/class/dmi/id")
_PLACEHOLDERS = {"", "to be filled by o.e.m.", "default string", "system serial number", "not specified", "none", "0"}
CIM_SCRIPT = (
    "$cs = Get-CimInstance Win32_ComputerSystem; $bios = Get-CimInstance Win32_BIOS; "
    "$cpu = Get-CimInstance Win32_Processor | Select-Object -First 1; "
    "[pscustomobject]@{Manufacturer=$cs.Manufacturer; Model=$cs.Model; SerialNumber=$bios.SerialNumber; "
    "CpuName=$cpu.Name} | ConvertTo-Json -Compress"
)


@dataclass(frozen=True)
class HardwareIdentity:
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    cpu_model: str | None = None


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return None if text.lower() in _PLACEHOLDERS else text[:255]


def parse_dmi(directory: Path) -> HardwareIdentity:
    """Read ``sys_vendor``, ``product_name`` and ``product_serial`` (root-only) from a DMI directory."""

    def read(name: str) -> str | None:
        try:
            return _clean((directory / name).read_text(encoding="utf-8", errors="replace"))
        except OSError:  # missing file, or product_serial without root
            return None

    return HardwareIdentity(
        manufacturer=read("sys_vendor"), model=read("product_name"), serial_number=read("product_serial")
    )


def parse_cpuinfo(text: str) -> str | None:
    """The first ``model name`` (x86) or ``Model``/``Hardware`` (ARM) of ``/proc/cpuinfo``."""
    for key in ("model name", "Model", "Hardware"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if match:
            return _clean(match.group(1))
    return None


def parse_system_profiler(text: str) -> HardwareIdentity:
    """Parse ``system_profiler SPHardwareDataType -json`` (Apple silicon and Intel Macs)."""
    entries = json.loads(text).get("SPHardwareDataType") or [{}]
    entry = entries[0]
    model = _clean(entry.get("machine_model"))
    name = _clean(entry.get("machine_name"))
    return HardwareIdentity(
        manufacturer="Apple Inc.",
        model=f"{name} ({model})" if name and model else name or model,
        serial_number=_clean(entry.get("serial_number")),
        cpu_model=_clean(entry.get("chip_type")) or _clean(entry.get("cpu_type")),
    )


def parse_cim_json(text: str) -> HardwareIdentity:
    """Parse the JSON printed by :data:`CIM_SCRIPT` (Windows PowerShell)."""
    data = json.loads(text)
    return HardwareIdentity(
        manufacturer=_clean(data.get("Manufacturer")),
        model=_clean(data.get("Model")),
        serial_number=_clean(data.get("SerialNumber")),
        cpu_model=_clean(data.get("CpuName")),
    )


def collect_identity() -> HardwareIdentity:
    """Hardware identity of this machine from the OS's own source."""
    if sys.platform == "darwin":
        output = run_tool(["system_profiler", "SPHardwareDataType", "-json"])
        return parse_system_profiler(output) if output else HardwareIdentity(manufacturer="Apple Inc.")
    if sys.platform == "win32":
        output = run_tool(["powershell.exe", "-NoProfile", "-NonInteractive", "-Command", CIM_SCRIPT])
        return parse_cim_json(output) if output else HardwareIdentity(cpu_model=_clean(platform.processor()))
    identity = parse_dmi(DMI_DIR)
    try:
        cpu = parse_cpuinfo(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        cpu = None
    return HardwareIdentity(
        identity.manufacturer, identity.model, identity.serial_number, cpu or _clean(platform.processor())
    )
