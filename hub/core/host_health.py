"""The port between an external monitoring connector (Checkmk) and the native device inventory.

Connectors and ``native_rmm`` are siblings that never import each other (DESIGN.md). A connector that
learns about hosts needs three things from the inventory: find devices by hostname (automatic
mapping), check a device chosen by hand, and raise or resolve an alert when a host's health changes
so that the alert rules see it. ``native_rmm`` adds a :class:`DeviceDirectory` to the hub's components
at start-up; the connector finds it there (like :class:`hub.core.tickets.RemoteEventSink`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

HealthSeverity = Literal["warning", "critical"]


@dataclass(frozen=True)
class DeviceRef:
    """A native device as a connector sees it: id, hostname and the label shown on pages."""

    id: int
    hostname: str
    label: str


@dataclass(frozen=True)
class HostHealth:
    """One external host's health for the alert queue.

    Attributes:
        key: the alert identity (at most 80 characters), stable while the host exists.
        severity: ``warning`` / ``critical`` raise or update the alert; ``None`` resolves it.
        message: what the alert says (or, on recovery, why it resolved).
        device_id: the mapped native device, when there is one.
    """

    key: str
    severity: HealthSeverity | None
    message: str
    device_id: int | None = None


@dataclass(frozen=True)
class DeviceDirectory:
    """What ``native_rmm`` offers external monitoring connectors (every call inside the caller's session).

    Attributes:
        match_hostnames: devices of ``org_id`` whose hostname (case-insensitive, also the part before the
            first dot) is one of ``names``; keyed by the lower-cased name asked for.
        get_device: the device ``device_id`` of ``org_id``, or ``None``.
        labels: the labels of the devices ``ids`` of ``org_id`` that exist.
        report: raise, update or resolve the ``checkmk`` alert of each :class:`HostHealth`; returns how many
            alerts were raised and resolved.
    """

    match_hostnames: Callable[[AsyncSession, int, Sequence[str]], Awaitable[dict[str, DeviceRef]]]
    get_device: Callable[[AsyncSession, int, int], Awaitable[DeviceRef | None]]
    labels: Callable[[AsyncSession, int, Sequence[int]], Awaitable[dict[int, str]]]
    report: Callable[[AsyncSession, int, Sequence[HostHealth]], Awaitable[tuple[int, int]]]
