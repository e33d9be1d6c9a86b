"""Every static tool of the native RMM, registered once by :class:`native_rmm.module.NativeRmmModule`.

The per-organisation ``rmm-script-<slug>`` tools are dynamic: :mod:`native_rmm.scripts.jobs` loads and
watches them.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.core.registry import Tool
from native_rmm.alerts import tools as alert_tools
from native_rmm.commands.bulk import bulk_tools
from native_rmm.commands.rustdesk_tools import rustdesk_install_tools
from native_rmm.commands.tools import command_tools
from native_rmm.devices.manage_tools import manage_tools
from native_rmm.devices.rustdesk_tools import rustdesk_tools
from native_rmm.devices.tools import device_tools
from native_rmm.remote.tools import remote_tools
from native_rmm.scripts import tools as script_tools
from native_rmm.settings import RmmSettings
from native_rmm.status_pages.tools import status_page_tools
from native_rmm.tickets import tools as ticket_tools
from native_rmm.updates.tools import UpdateConfig, update_tools


def native_rmm_tools(
    latest_agent_version: Callable[[], str | None],
    update_config: Callable[[], UpdateConfig],
    rmm_settings: Callable[[], RmmSettings],
) -> list[Tool]:
    """Devices, customers/sites, tags and groups, patches, commands (one device or many), remote
    sessions, agent updates (the device plane), then alerts, tickets and the script library (the operations)."""
    return [
        *device_tools(latest_agent_version),
        *manage_tools(),
        *command_tools(),
        *bulk_tools(),
        *remote_tools(),
        *rustdesk_tools(),
        *rustdesk_install_tools(rmm_settings),
        *update_tools(update_config),
        *alert_tools.tools(),
        *ticket_tools.tools(),
        *script_tools.static_tools(),
        *status_page_tools(),
    ]
