"""``rmmhub bench``: benchmarks that start a real hub on loopback and drive it like agents do.

Each bench is bounded in count and time, talks to 127.0.0.1 only and stops the hub it started.
"""

from __future__ import annotations

import click

from hub.bench.assistant import assistant_bench
from hub.bench.checkin import checkin
from hub.bench.devices import devices
from hub.bench.push import push
from hub.bench.relay import relay_bench


@click.group()
def bench() -> None:
    """Benchmarks against a real hub started on loopback."""


bench.add_command(checkin)
bench.add_command(push)
bench.add_command(devices)
bench.add_command(relay_bench)
bench.add_command(assistant_bench)
