"""Every table of the native RMM, in one package so domains never import each other in circles.

``hub.main.MODEL_MODULES`` lists this package; importing it registers every table on ``Base``.
"""

from native_rmm.models import (
    alerts,
    automation,
    commands,
    devices,
    installers,
    metrics,
    monitors,
    remote,
    rustdesk,
    scripts,
    status_pages,
    tickets,
)

__all__ = [
    "alerts",
    "automation",
    "commands",
    "devices",
    "installers",
    "metrics",
    "monitors",
    "remote",
    "rustdesk",
    "scripts",
    "status_pages",
    "tickets",
]
