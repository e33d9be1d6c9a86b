"""The built-in model's ConnectWise RMM side: endpoints matched like native devices, the tools that act
on them, and a ConnectWise script's parameter schema.

A ConnectWise endpoint comes from ``cw-rmm-list-devices`` (read through the gate like any other
call) and is matched by the same resolver as a native device; what the request wants done maps to
the ConnectWise tool doing it (state, details, patches, the tenant's scripts), and the paper trail of
a request naming a ticket goes onto the ConnectWise ticket as a note.
"""

from __future__ import annotations

from typing import Any

from pydantic_ai.tools import ToolDefinition

CW_LIST, CW_STATE, CW_NOTE = "cw-rmm-list-devices", "cw-rmm-get-device-state", "cw-rmm-add-ticket-note"
CW_SCRIPT = "cw-rmm-script-"
#: The ConnectWise RMM tool doing what a native device tool does (a ConnectWise endpoint has no other).
CW_EQUIVALENT = {
    "rmm-get-device-state": CW_STATE,
    "rmm-get-device": "cw-rmm-get-device",
    "rmm-get-device-patches": "cw-rmm-get-device-patches",
}
NATIVE_EQUIVALENT = {cw: native for native, cw in CW_EQUIVALENT.items()}
CONNECTWISE = "connectwise"


def is_cw(device: dict[str, Any]) -> bool:
    """Whether a matched device is a ConnectWise endpoint (see :func:`cw_devices`)."""
    return device.get("source") == CONNECTWISE


def cw_devices(listing: Any) -> list[dict[str, Any]]:
    """ConnectWise endpoints (``cw-rmm-list-devices`` rows) in the shape devices are matched in."""
    rows = listing.get("devices") if isinstance(listing, dict) else None
    devices = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or not row.get("endpoint_id"):
            continue
        devices.append(
            {
                "id": str(row["endpoint_id"]),
                "hostname": row.get("device_name") or row.get("name"),
                "display_name": row.get("name"),
                "os": row.get("os"),
                "description": row.get("endpoint_type"),
                "company_id": row.get("company_id"),
                "site_id": row.get("site_id"),
                "status": "ConnectWise RMM",
                "source": CONNECTWISE,
            }
        )
    return devices


def params_schema(tool: ToolDefinition) -> dict[str, Any]:
    """A script tool's parameter schema: a native script's whole input, a ConnectWise script's ``parameters``."""
    schema = tool.parameters_json_schema
    if tool.name.startswith(CW_SCRIPT):
        nested = schema.get("properties", {}).get("parameters")
        return nested if isinstance(nested, dict) else {}
    return schema
