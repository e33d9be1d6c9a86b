"""Page routers of the web UI, mounted in this order by :class:`ui.module.UiModule`.

To add pages: write ``ui/pages/<area>.py`` with ``router = APIRouter(include_in_schema=False)``,
import it here and append it to :data:`ROUTERS` (see ``ui/README.md``).
"""

from __future__ import annotations

from fastapi import APIRouter

from ui.pages import (
    admin,
    admin_alert_rules,
    admin_customer_thresholds,
    admin_customers,
    admin_notifications,
    admin_rmm,
    admin_rmm_monitors,
    admin_status_page,
    approvals,
    assistant,
    audit,
    auth,
    integrations,
    integrations_cw,
    live,
    oauth,
    policies,
    remote_sessions,
    rmm,
    rmm_bulk,
    rmm_device,
    rmm_device_details,
    rmm_remote,
    rmm_rustdesk,
    rmm_schedules,
    rmm_scripts,
    rmm_tickets,
    status_public,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    oauth.router,
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
    rmm_schedules.router,
    rmm_device.router,
    rmm_remote.router,
    remote_sessions.router,
    rmm_rustdesk.router,
    rmm_bulk.router,
    rmm_device_details.router,
    admin_rmm.router,
    admin_customers.router,
    admin_customer_thresholds.router,
    admin_rmm_monitors.router,
    admin_notifications.router,
    admin_alert_rules.router,
    admin_status_page.router,
    status_public.router,
]
