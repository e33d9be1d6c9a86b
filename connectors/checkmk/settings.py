"""Settings of the Checkmk connector (``RMMHUB_CHECKMK_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CheckmkSettings(BaseSettings):
    """Connector-wide knobs; per-site values (URL, site, credentials) live in the database.

    Attributes:
        sync_interval_seconds: how often every connected site's hosts are synced (leader only).
        timeout_seconds: seconds per request to Checkmk.
    """

    model_config = SettingsConfigDict(env_prefix="RMMHUB_CHECKMK_", env_file=".env", extra="ignore")

    sync_interval_seconds: float = Field(default=300.0, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)
