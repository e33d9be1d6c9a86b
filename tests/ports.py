"""Loopback ports for test servers that no other test, worker or outgoing connection can take meanwhile.

A port from ``bind(("127.0.0.1", 0))`` lies in the kernel's ephemeral range: between the probe closing it
and the server binding it, any outgoing connection of this process, of a hub subprocess or of another
pytest-xdist worker may be given the same port. ``free_port`` therefore hands out ports below that range,
from a block of its own per xdist worker (``gw0`` the first block, ``gw1`` the next, ...), in turn, so a port
is not handed out again until the block wraps. Each candidate is probed with a bind before it is returned.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
from pathlib import Path

#: The ephemeral range starts here on Linux by default (``net.ipv4.ip_local_port_range``).
_EPHEMERAL_LOW = 32768
_BLOCK = 1000
_FIRST = 20000


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _EPHEMERAL_LOW


def _block() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    start = _FIRST + index * _BLOCK
    if start + _BLOCK > _ephemeral_low():
        raise RuntimeError(f"no port block below the ephemeral range for xdist worker {worker}")
    return range(start, start + _BLOCK)


_BLOCK_PORTS = _block()
_turn = itertools.cycle(random.sample(list(_BLOCK_PORTS), len(_BLOCK_PORTS)))


def free_port() -> int:
    """A loopback port that accepts a bind now, from this worker's block (never an ephemeral port)."""
    for port in itertools.islice(_turn, len(_BLOCK_PORTS)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_BLOCK_PORTS.start}-{_BLOCK_PORTS.stop - 1}")
