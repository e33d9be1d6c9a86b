"""Typed settings, read once from the environment (prefix ``RMMHUB_``) and ``.env``.

Outside dev mode a missing or well-known secret key refuses to start: every signed ticket,
session and encrypted connector credential hangs off it.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./var/rmmhub.db"
#: Keys that appear in documentation or examples: refused outside dev mode.
KNOWN_WEAK_KEYS = frozenset({"", "changeme", "change-me", "secret", "dev", "development", "rmmhub"})
DEV_SECRET_KEY = "rmmhub-dev-secret-key-not-for-production"


class Environment(StrEnum):
    """Where the hub runs; only ``dev`` tolerates a missing secret key."""

    DEV = "dev"
    PRODUCTION = "production"


class InsecureSettingsError(RuntimeError):
    """Raised at start-up when settings would make the hub unsafe to run."""


class Settings(BaseSettings):
    """Every setting of the hub. Field names map to ``RMMHUB_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="RMMHUB_", env_file=".env", extra="ignore")

    env: Environment = Environment.PRODUCTION
    secret_key: SecretStr | None = None
    database_url: str = DEFAULT_SQLITE_URL
    redis_url: str | None = None
    redis_channel: str = Field(default="rmmhub:events", min_length=1, description="pub/sub channel of this deployment")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(default=None, description="URL endpoints and browsers use to reach the hub")
    log_level: str = "INFO"
    relay_embedded: bool = Field(default=True, description="run the remote-session relay inside the hub process")
    relay_host: str = Field(default="127.0.0.1", description="address the embedded relay listens on")
    relay_port: int = Field(default=8001, ge=0, le=65535, description="port of the embedded relay (0: any free port)")
    relay_url: str | None = Field(
        default=None,
        description="ws(s):// URL agents and browsers dial for the relay; default ws://<host>:<relay_port>",
    )
    relay_idle_timeout_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    remote_recordings_dir: Path = Field(
        default=Path("./var/recordings"), description="where shell sessions are recorded (asciicast v2)"
    )
    remote_recording_retention_days: float = Field(default=30.0, gt=0, description="how long recordings are kept")
    log_json: bool = False

    approval_ttl_hours: float = Field(default=24.0, gt=0)
    mcp_approval_wait_seconds: float = Field(
        default=60.0, ge=0, le=600,
        description="how long an MCP call that asked for progress waits for an approval's decision (0: answer pending at once)",
    )  # fmt: skip
    session_ttl_hours: float = Field(default=12.0, gt=0)
    session_cookie_secure: bool | None = Field(
        default=None, description="Secure cookie flag; by default on whenever the public URL is https"
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="largest request body accepted outside the agent API (413 past it)"
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="wrong passwords per (username, client address) before delays begin"
    )
    login_lockout_minutes: float = Field(default=15.0, gt=0, description="longest delay between two attempts")
    login_first_delay_seconds: float = Field(default=30.0, gt=0, description="first delay; doubles per failure")
    login_window_minutes: float = Field(default=60.0, gt=0, description="failures older than this are forgotten")
    login_address_max_failures: int = Field(
        default=50, ge=1, description="wrong passwords from one client address (any username) within the window"
    )
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list, description="proxies whose X-Forwarded-For/-Proto are believed (comma list, CIDR)"
    )

    audit_witness: Path = Field(
        default=Path("./var/audit-witness.log"),
        description="file outside the database where signed checkpoints of the audit chain head are appended",
    )
    audit_checkpoint_minutes: float = Field(default=5.0, gt=0, description="how often a checkpoint is appended")
    audit_seal_grace_seconds: float = Field(
        default=60.0, gt=0, description="audit rows unsealed for longer than this are reported as tampering"
    )

    scheduler_enabled: bool = True
    assistant_model: str | None = Field(
        default=None, description="any pydantic-ai model string (openai-chat:..., anthropic:..., ollama:...)"
    )
    assistant_base_url: str | None = Field(
        default=None, description="an OpenAI-compatible chat-completions endpoint (LiteLLM, vLLM, ...)"
    )
    assistant_api_key: SecretStr | None = Field(default=None, description="the key of the OpenAI-compatible endpoint")
    assistant_request_limit: int = Field(default=12, ge=1, le=200, description="model requests per chat turn")
    assistant_tool_calls_limit: int = Field(default=10, ge=1, le=200, description="tool calls per chat turn")
    assistant_tools_per_turn: int = Field(default=24, ge=4, le=500, description="tools retrieval offers per turn")

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if self.env is Environment.DEV:
            if not key:
                self.secret_key = SecretStr(DEV_SECRET_KEY)
            return self
        if key.lower() in KNOWN_WEAK_KEYS or key == DEV_SECRET_KEY:
            raise InsecureSettingsError(
                "RMMHUB_SECRET_KEY is missing or a well-known default. Set it to a long random value "
                "(for example `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "or run with RMMHUB_ENV=dev for local development."
            )
        if len(key) < 32:
            raise InsecureSettingsError("RMMHUB_SECRET_KEY must be at least 32 characters long.")
        return self

    @property
    def secret(self) -> str:
        """The secret key as plain text (validated to be present)."""
        assert self.secret_key is not None
        return self.secret_key.get_secret_value()

    @property
    def database_kind(self) -> str:
        """``sqlite`` or ``postgresql``, as reported by ``/healthz``."""
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    @property
    def relay_public_url(self) -> str:
        """The relay URL written into session tickets (both ends dial it)."""
        return (self.relay_url or f"ws://{self.relay_host}:{self.relay_port}").rstrip("/")

    @property
    def base_url(self) -> str:
        """The externally visible base URL, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def cookie_secure(self) -> bool:
        """Whether session cookies carry the Secure flag."""
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.base_url.startswith("https://")

    def sqlite_path(self) -> Path | None:
        """The SQLite database file, when the database is a file-backed SQLite one."""
        prefix = "sqlite+aiosqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        raw = self.database_url.removeprefix(prefix)
        return None if raw in ("", ":memory:") else Path(raw)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
