"""Collectors: what the agent knows about its machine.

psutil answers first (``system``); OS tools fill in what it cannot (``osinfo``, ``hardware``,
``apps``, ``patches``). Every OS-specific collector is a parse function (tested with captured
output) plus a runner, so the parsing is verified on every platform the tests run on.
"""

from agent.collectors.apps import collect_applications
from agent.collectors.patches import collect_patches, install_patches_command
from agent.collectors.system import collect_inventory, collect_metrics, inventory_delta, prime_cpu_percent

__all__ = [
    "collect_applications",
    "collect_inventory",
    "collect_metrics",
    "collect_patches",
    "install_patches_command",
    "inventory_delta",
    "prime_cpu_percent",
]
