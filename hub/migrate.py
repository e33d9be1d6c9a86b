"""Run Alembic programmatically (no alembic.ini needed): ``rmmhub migrate`` and test set-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at ``hub/migrations`` and ``database_url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url)
    return cfg


def ensure_sqlite_dir(database_url: str) -> None:
    """Create the folder of a file-backed SQLite database."""
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix):
        raw = database_url.removeprefix(prefix)
        if raw and raw != ":memory:":
            Path(raw).parent.mkdir(parents=True, exist_ok=True)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (synchronous; runs its own event loop)."""
    ensure_sqlite_dir(database_url)
    command.upgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str) -> None:
    """Autogenerate a new revision against ``database_url`` (developer helper)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
