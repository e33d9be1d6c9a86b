"""Sign-in throttling per (username, client address), growing delays, the per-address ceiling, and
forwarding headers believed only from trusted proxies (issue 8, item 6)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hub.core.audit import AuditEntry, AuditEvent
from hub.core.db import Database
from hub.core.models import LoginFailure
from hub.core.settings import Settings
from hub.main import create_app
from tests.conftest import SECRET, Tenancy, free_port, make_settings, rest_login
from tests.waiting import wait_until

LOGIN = "/api/v1/auth/login"
ClientAt = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_at(settings: Settings) -> ClientAt:
    """``client_at(address, **settings)``: a client of a fresh hub app whose TCP peer is ``address``."""

    @asynccontextmanager
    async def make(address: str, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(make_settings(settings.database_url, **overrides))
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://h") as c:
            yield c

    return make


async def _age_failures(db: Database, seconds: float) -> None:
    """Move every recorded failure ``seconds`` into the past (time passing, without waiting for it)."""
    async with db.transaction() as s:
        for failure in (await s.execute(select(LoginFailure))).scalars():
            failure.at -= timedelta(seconds=seconds)


async def test_wrong_passwords_from_one_place_do_not_lock_the_user_out_elsewhere(
    tenancy: Tenancy, client_at: ClientAt
) -> None:
    """Reproduction: five wrong passwords from one address locked the real user out everywhere."""
    async with client_at("203.0.113.9") as attacker, client_at("198.51.100.20") as office:
        for _ in range(5):
            assert (await rest_login(attacker, "olga", "not-her-password")).status_code == 401
        blocked = await rest_login(attacker, "olga", tenancy.operator.password)
        assert blocked.status_code == 429 and "too many failed sign-ins" in blocked.json()["message"]
        assert 0 < int(blocked.headers["Retry-After"]) <= 30
        ok = await rest_login(office, "olga", tenancy.operator.password)
        assert ok.status_code == 200, ok.text


async def test_delays_grow_with_each_failure_and_reset_on_success(
    tenancy: Tenancy, client_at: ClientAt, db: Database
) -> None:
    async with client_at("203.0.113.9", login_first_delay_seconds=30, login_lockout_minutes=2) as c:
        for _ in range(5):
            assert (await rest_login(c, "olga", "wrong-password")).status_code == 401
        waits = []
        for _ in range(4):
            refused = await rest_login(c, "olga", "wrong-password")
            assert refused.status_code == 429
            waits.append(int(refused.headers["Retry-After"]))
            await _age_failures(db, waits[-1])
            assert (await rest_login(c, "olga", "wrong-password")).status_code == 401  # the delay has passed
        # 30 s, doubling per failure, capped at two minutes
        assert waits == pytest.approx([30, 60, 120, 120], abs=1)
        refused = await rest_login(c, "olga", tenancy.operator.password)
        assert refused.status_code == 429  # the right password waits too: no oracle while throttled
        await _age_failures(db, int(refused.headers["Retry-After"]))
        assert (await rest_login(c, "olga", tenancy.operator.password)).status_code == 200
        assert (await rest_login(c, "olga", "one-more-typo")).status_code == 401  # a success starts the pair afresh


async def test_failures_older_than_the_window_are_forgotten(
    tenancy: Tenancy, client_at: ClientAt, db: Database
) -> None:
    async with client_at("203.0.113.9", login_window_minutes=10) as c:
        for _ in range(5):
            await rest_login(c, "olga", "wrong-password")
        assert (await rest_login(c, "olga", tenancy.operator.password)).status_code == 429
        await _age_failures(db, 11 * 60)
        assert (await rest_login(c, "olga", tenancy.operator.password)).status_code == 200
        assert (await rest_login(c, "vic", "wrong-password")).status_code == 401
    async with db.sessionmaker() as s:
        kept = (await s.execute(select(LoginFailure))).scalars().all()
    assert len(kept) == 2  # the new failure (pair + address); the stale ones were pruned


async def test_one_address_has_a_ceiling_over_all_usernames(
    tenancy: Tenancy, client_at: ClientAt, db: Database
) -> None:
    overrides = {"login_address_max_failures": 8, "login_window_minutes": 30}
    async with client_at("203.0.113.9", **overrides) as sprayer, client_at("198.51.100.20", **overrides) as office:
        for n in range(8):
            assert (await rest_login(sprayer, f"guess{n}", "password123")).status_code == 401
        capped = await rest_login(sprayer, "alice", tenancy.admin.password)
        assert capped.status_code == 429 and "from this address" in capped.json()["message"]
        assert 29 * 60 < int(capped.headers["Retry-After"]) <= 30 * 60
        assert (await rest_login(office, "alice", tenancy.admin.password)).status_code == 200
        await _age_failures(db, int(capped.headers["Retry-After"]))
        assert (await rest_login(sprayer, "alice", tenancy.admin.password)).status_code == 200


async def test_forged_forwarded_for_is_ignored_without_trusted_proxies(tenancy: Tenancy, client_at: ClientAt) -> None:
    async with client_at("127.0.0.1") as c:
        for n in range(5):
            await rest_login(c, "olga", "wrong-password", **{"X-Forwarded-For": f"10.9.8.{n}"})
        r = await rest_login(c, "olga", tenancy.operator.password, **{"X-Forwarded-For": "10.9.8.200"})
        assert r.status_code == 429


async def test_trusted_proxy_forwarded_for_is_the_client_address(
    tenancy: Tenancy, client_at: ClientAt, db: Database
) -> None:
    trusted = [ip_network("10.0.0.0/24")]
    async with client_at("10.0.0.5", trusted_proxies=trusted) as proxy:
        for _ in range(5):
            # The client forged a first entry; the proxy appended the address it really saw.
            await rest_login(proxy, "olga", "wrong-password", **{"X-Forwarded-For": "192.0.2.1, 203.0.113.9"})
        same = await rest_login(proxy, "olga", tenancy.operator.password, **{"X-Forwarded-For": "203.0.113.9"})
        assert same.status_code == 429
        other = await rest_login(proxy, "olga", tenancy.operator.password, **{"X-Forwarded-For": "198.51.100.20"})
        assert other.status_code == 200
    async with db.sessionmaker() as s:
        ips = {
            e.detail["ip"]
            for e in (await s.execute(select(AuditEntry))).scalars()
            if e.event == AuditEvent.LOGIN_FAILED
        }
    assert ips == {"203.0.113.9"}


def test_rmmhub_serve_ignores_a_forged_forwarded_for_from_loopback(tmp_path: Path) -> None:
    """Reproduction on the real server: uvicorn believed X-Forwarded-For from loopback, so rotating it
    got round the address limit (five usernames sprayed from one place, then a sixth)."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RMMHUB_")},
        "RMMHUB_SECRET_KEY": SECRET,
        "RMMHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'rmmhub.db'}",
        "RMMHUB_PORT": str(port),
        "RMMHUB_SCHEDULER_ENABLED": "false",
        "RMMHUB_LOGIN_ADDRESS_MAX_FAILURES": "5",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError("rmmhub serve exited")
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, within=60, message="rmmhub serve up")
        for n in range(5):
            guess = {"username": f"user{n}", "password": "guess-123456"}
            r = httpx.post(f"{url}{LOGIN}", json=guess, headers={"X-Forwarded-For": f"10.9.8.{n}"})
            assert r.status_code == 401
        guess = {"username": "admin", "password": "guess-123456"}
        r = httpx.post(f"{url}{LOGIN}", json=guess, headers={"X-Forwarded-For": "10.9.8.99"})
        assert r.status_code == 429 and "from this address" in r.json()["message"]
        assert int(r.headers["Retry-After"]) > 0
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert re.search(r"initial admin login", out)
