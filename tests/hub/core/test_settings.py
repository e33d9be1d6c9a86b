"""Settings refuse to start without a real secret key outside dev mode."""

from __future__ import annotations

import pytest

from hub.core.settings import DEV_SECRET_KEY, Environment, InsecureSettingsError, Settings


def test_production_refuses_missing_key() -> None:
    with pytest.raises(InsecureSettingsError, match="RMMHUB_SECRET_KEY is missing"):
        Settings(_env_file=None, env=Environment.PRODUCTION)  # type: ignore[call-arg]


@pytest.mark.parametrize("key", ["changeme", "secret", DEV_SECRET_KEY])
def test_production_refuses_known_defaults(key: str) -> None:
    with pytest.raises(InsecureSettingsError):
        Settings(_env_file=None, secret_key=key)  # type: ignore[call-arg,arg-type]


def test_production_refuses_short_key() -> None:
    with pytest.raises(InsecureSettingsError, match="at least 32"):
        Settings(_env_file=None, secret_key="x" * 20)  # type: ignore[call-arg,arg-type]


def test_dev_mode_tolerates_missing_key() -> None:
    s = Settings(_env_file=None, env=Environment.DEV)  # type: ignore[call-arg]
    assert s.secret == DEV_SECRET_KEY


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMMHUB_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("RMMHUB_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("RMMHUB_APPROVAL_TTL_HOURS", "3")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.database_kind == "postgresql" and s.approval_ttl_hours == 3
    assert "k" * 40 not in repr(s)


def test_cli_refuses_weak_key(tmp_path: object) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("RMMHUB_")}
    env["RMMHUB_SECRET_KEY"] = "changeme"
    r = subprocess.run(
        [sys.executable, "-m", "hub.cli", "user", "list"], env=env, capture_output=True, text=True, cwd=str(tmp_path)
    )
    assert r.returncode != 0 and "RMMHUB_SECRET_KEY" in r.stderr
