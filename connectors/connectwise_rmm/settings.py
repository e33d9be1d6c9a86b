"""Settings of the ConnectWise RMM connector (``RMMHUB_CW_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConnectWiseSettings(BaseSettings):
    """Connector-wide knobs; per-tenant values (credentials, region) live in the database.

    Attributes:
        base_url: API host override for new connections (a gateway, or a test server); ``None`` uses the
            region's host. ``rmmhub integrations connect --base-url`` overrides it per connection.
        discovery_interval_seconds: how often every connection's shell scripts are re-discovered.
        script_wait_seconds: default bound on waiting for a script run's results inside a tool call. Kept
            short: the wait happens inside the caller's unit of work, which on SQLite holds the write lock.
            A run that is still going is reported with its ``task_id`` for ``cw-rmm-get-task-results``.
        max_script_wait_seconds: the most a caller may ask a tool call to wait (``wait_seconds``).
        poll_interval_seconds: seconds between result polls while waiting.
    """

    model_config = SettingsConfigDict(env_prefix="RMMHUB_CW_", env_file=".env", extra="ignore")

    base_url: str | None = None
    discovery_interval_seconds: float = Field(default=3600.0, gt=0)
    script_wait_seconds: float = Field(default=10.0, ge=0)
    max_script_wait_seconds: float = Field(default=120.0, ge=0)
    poll_interval_seconds: float = Field(default=3.0, gt=0)
