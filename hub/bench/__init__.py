"""``rmmhub bench``: benchmarks that start a real hub on loopback and drive it like agents do.

Each bench is bounded in count and time, talks to 127.0.0.1 only and stops the hub it started.
"""

from __future__ import annotations

import click

from hub.lazycli import LazyGroup

BENCHES = {
    "checkin": "hub.bench.checkin:checkin",
    "push": "hub.bench.push:push",
    "devices": "hub.bench.devices:devices",
    "relay": "hub.bench.relay:relay_bench",
    "assistant": "hub.bench.assistant:assistant_bench",
}


@click.group(cls=LazyGroup, lazy=BENCHES)
def bench() -> None:
    """Benchmarks against a real hub started on loopback."""
