"""Metric samples: one row per accepted check-in, written in batches by :mod:`native_rmm.ingest`.

Sized for 10,000 devices x a week at one sample a minute (~100 M rows): a 64-bit key, the
``(device_id, taken_at)`` index serves "the last 60 minutes of one device" as one range scan, and
the ``taken_at`` index lets retention delete the oldest rows in batches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base

SampleId = BigInteger().with_variant(Integer(), "sqlite")


class MetricSample(Base):
    """CPU, memory, disk (busiest disk plus every disk as JSON), load, uptime and network bytes/s at ``taken_at``."""

    __tablename__ = "rmm_metric_samples"
    __table_args__ = (
        Index("ix_rmm_metric_samples_device_taken", "device_id", "taken_at"),
        Index("ix_rmm_metric_samples_taken", "taken_at"),
    )

    id: Mapped[int] = mapped_column(SampleId, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("rmm_devices.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column()
    cpu_percent: Mapped[float] = mapped_column(Float)
    memory_percent: Mapped[float] = mapped_column(Float)
    memory_used_bytes: Mapped[int] = mapped_column(BigInteger)
    memory_total_bytes: Mapped[int] = mapped_column(BigInteger)
    disk_percent: Mapped[float | None] = mapped_column(Float, default=None)
    disks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    load_1: Mapped[float | None] = mapped_column(Float, default=None)
    load_5: Mapped[float | None] = mapped_column(Float, default=None)
    load_15: Mapped[float | None] = mapped_column(Float, default=None)
    uptime_seconds: Mapped[int] = mapped_column(BigInteger)
    net_sent_bps: Mapped[float | None] = mapped_column(Float, default=None)
    net_recv_bps: Mapped[float | None] = mapped_column(Float, default=None)
