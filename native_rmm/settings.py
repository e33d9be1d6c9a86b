"""Settings of the native RMM (environment prefix ``RMMHUB_RMM_``), typed and validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.protocol import DEFAULT_CHECKIN_INTERVAL_SECONDS


class RmmSettings(BaseSettings):
    """Timing, ingest and retention knobs. Field ``x`` maps to ``RMMHUB_RMM_X``."""

    model_config = SettingsConfigDict(env_prefix="RMMHUB_RMM_", env_file=".env", extra="ignore")

    checkin_interval_seconds: int = Field(default=DEFAULT_CHECKIN_INTERVAL_SECONDS, ge=5, le=3600)
    offline_after_minutes: float = Field(default=5.0, gt=0, description="no check-in for this long -> OFFLINE")
    ack_deadline_seconds: float = Field(
        default=60.0, gt=0, description="a delivered command unacknowledged this long -> UNRESPONSIVE"
    )
    ws_ping_interval_seconds: int = Field(default=30, ge=1, le=3600)
    status_job_seconds: float = Field(default=15.0, gt=0)
    command_grace_seconds: float = Field(default=60.0, ge=0, description="added to a command's timeout")
    command_queue_ttl_hours: float = Field(default=24.0, gt=0, description="a never-delivered command expires")
    command_job_seconds: float = Field(default=15.0, gt=0)
    sample_retention_days: float = Field(default=30.0, gt=0)
    retention_job_seconds: float = Field(default=3600.0, gt=0)
    retention_batch_rows: int = Field(default=5000, ge=1)
    ingest_flush_seconds: float = Field(default=0.5, gt=0, le=10)
    ingest_batch_rows: int = Field(default=500, ge=1)
    ingest_queue_rows: int = Field(default=20_000, ge=1)
    ingest_submit_timeout_seconds: float = Field(default=5.0, gt=0)
    credential_rotation_grace_minutes: float = Field(default=60.0, ge=0)
    quick_support_session_hours: float = Field(default=4.0, gt=0)
    agent_dist_dir: Path = Field(
        default=Path("var/agent-dist"), description="single-file agents and uv binaries built/staged at set-up"
    )
    agent_update_confirm_seconds: int = Field(
        default=300, ge=5, le=3600, description="an updated agent that has not checked in by then is rolled back"
    )
    rustdesk_package_urls: dict[str, str] = Field(
        default_factory=dict,
        description="RustDesk client download per kind (linux-deb, linux-rpm, linux-appimage, windows, macos) "
        "when no file is staged under <agent_dist_dir>/rustdesk/<kind>/",
    )
    agent_auto_update_job_seconds: float = Field(default=300.0, gt=0, description="how often auto-update runs")
    agent_auto_update_retry_hours: float = Field(
        default=6.0, gt=0, description="an automatic update of a device is not queued again sooner"
    )
    agent_python_mirror: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RMMHUB_AGENT_PYTHON_MIRROR", "RMMHUB_RMM_AGENT_PYTHON_MIRROR"),
        pattern=r"^https?://[^\s'\"`$]+$",
        description="where uv downloads CPython builds from on endpoints (UV_PYTHON_INSTALL_MIRROR)",
    )


@lru_cache(maxsize=1)
def get_rmm_settings() -> RmmSettings:
    """The process-wide native RMM settings (tests pass their own to the module)."""
    return RmmSettings()
