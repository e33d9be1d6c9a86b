"""Page routers of the web UI, mounted in this order by :class:`ui.module.UiModule`.

To add pages: write ``ui/pages/<area>.py`` with ``router = APIRouter(include_in_schema=False)``,
import it here and append it to :data:`ROUTERS` (see ``ui/README.md``).
"""

from __future__ import annotations

from fastapi import APIRouter

from ui.pages import (
    admin,
    admin_customers,
    admin_rmm,
    admin_rmm_monitors,
    approvals,
    assistant,
    audit,
    auth,
    integrations,
    integrations_cw,
    live,
    policies,
    rmm,
    rmm_bulk,
    rmm_device,
    rmm_device_details,
    rmm_rustdesk,
    rmm_scripts,
    rmm_tickets,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    live.router,
    approvals.router,
    audit.router,
    policies.router,
    admin.router,
    assistant.router,
    integrations.router,
    integrations_cw.router,
    rmm.router,
    rmm_scripts.router,
    rmm_tickets.router,
    rmm_device.router,
    rmm_bulk.router,
    rmm_device_details.router,
    rmm_rustdesk.router,
    admin_rmm.router,
    admin_customers.router,
    admin_rmm_monitors.router,
]
