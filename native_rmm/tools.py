"""Every tool of the device plane, registered by :class:`native_rmm.module.NativeRmmModule`."""

from __future__ import annotations

from collections.abc import Callable

from hub.core.registry import Tool
from native_rmm.commands.bulk import bulk_tools
from native_rmm.commands.tools import command_tools
from native_rmm.devices.manage_tools import manage_tools
from native_rmm.devices.rustdesk_tools import rustdesk_tools
from native_rmm.devices.tools import device_tools
from native_rmm.remote.tools import remote_tools


def device_plane_tools(latest_agent_version: Callable[[], str | None] = lambda: None) -> list[Tool]:
    """Devices, customers/sites, tags and groups, patches and commands (one device or many)."""
    return [
        *device_tools(latest_agent_version),
        *manage_tools(),
        *command_tools(),
        *bulk_tools(),
        *remote_tools(),
        *rustdesk_tools(),
    ]
