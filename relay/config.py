"""Relay limits and timings (the hub passes them from its settings; tests shorten them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_VIEWERS = 4


@dataclass(frozen=True)
class RelayConfig:
    """How one relay node behaves."""

    secret: str
    public_url: str | None = None
    max_viewers: int = MAX_VIEWERS
    idle_timeout: float = 30 * 60
    idle_warnings: tuple[float, ...] = (10 * 60, 20 * 60, 29 * 60)
    reconnect_grace: float = 60.0
    pair_timeout: float = 60.0
    high_water: int = 1 << 20
    max_lag: int = 16 << 20
    max_message: int = 4 << 20
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    recordings_dir: Path | None = None
