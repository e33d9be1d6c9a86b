"""A throw-away hub for a benchmark: a temporary database, set up, served by uvicorn in a subprocess.

SQLite: a file in a temporary folder. PostgreSQL (``--database-url``): a fresh database created
on that server and dropped afterwards, so a bench never touches existing data.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from hub.core.auth.service import create_api_token, get_user_by_username
from hub.core.bootstrap import INITIAL_ADMIN, bootstrap
from hub.core.db import Database, create_cli_engine
from hub.migrate import upgrade
from native_rmm.installers import service as installers

BENCH_SECRET = "rmmhub-bench-secret-" + "b" * 40
START_TIMEOUT_SECONDS = 60


class BenchError(RuntimeError):
    """The bench could not set up or reach its hub."""


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HubCredentials:
    """What a bench needs to drive the hub: the admin API token and the Base installer token."""

    org_id: int
    admin_token: str
    installer_token: str


async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _seed(url: str) -> HubCredentials:
    db = Database(create_cli_engine(url), secret_key=BENCH_SECRET)
    try:
        async with db.transaction() as session:
            await bootstrap(session, org_name="Bench MSP")
            admin = await get_user_by_username(session, INITIAL_ADMIN)
            token, _ = await create_api_token(session, admin, name="bench")
            installer = await installers.ensure_base_installer(session, org_id=admin.org_id)
            return HubCredentials(admin.org_id, token, installers.installer_token(session, installer))
    finally:
        await db.dispose()


class BenchHub:
    """``async with BenchHub(database_url) as hub:`` -> a hub at ``hub.url`` with ``hub.creds``."""

    def __init__(self, database_url: str | None = None, *, env: dict[str, str] | None = None) -> None:
        self._given_url = database_url
        self._extra_env = env or {}
        self._tmp: Path | None = None
        self._pg_name: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._log: Path | None = None
        self.url = ""
        self.database_url = ""
        self.creds: HubCredentials | None = None

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    async def __aenter__(self) -> BenchHub:
        self._tmp = Path(tempfile.mkdtemp(prefix="rmmhub-bench-"))
        if self._given_url and self._given_url.startswith("postgresql"):
            self._pg_name = f"rmmhub_bench_{uuid.uuid4().hex[:10]}"
            await _pg_admin(self._given_url, f'CREATE DATABASE "{self._pg_name}"')
            self.database_url = self._given_url.rsplit("/", 1)[0] + "/" + self._pg_name
        elif self._given_url:
            raise BenchError("--database-url must be a postgresql+asyncpg:// URL (SQLite uses a temporary file)")
        else:
            self.database_url = f"sqlite+aiosqlite:///{self._tmp / 'bench.db'}"
        try:
            await asyncio.to_thread(upgrade, self.database_url)
            self.creds = await _seed(self.database_url)
            await self._start()
        except BaseException:
            await self._cleanup()
            raise
        return self

    async def _start(self) -> None:
        assert self._tmp is not None
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "RMMHUB_ENV": "dev",
            "RMMHUB_SECRET_KEY": BENCH_SECRET,
            "RMMHUB_DATABASE_URL": self.database_url,
            "RMMHUB_PUBLIC_URL": self.url,
            "RMMHUB_LOG_LEVEL": "WARNING",
            **self._extra_env,
        }
        env.pop("RMMHUB_REDIS_URL", None)  # one replica: the in-process bus
        self._log = self._tmp / "hub.log"
        with self._log.open("wb") as log:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hub.cli",
                "serve",
                "--no-migrate",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                env=env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self._tmp,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self._proc.returncode is not None:
                    raise BenchError(f"the hub exited with {self._proc.returncode}:\n{self.log_tail()}")
                try:
                    if (await client.get("/agent/v1/ping")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                await asyncio.sleep(0.2)
        raise BenchError(f"the hub did not answer within {START_TIMEOUT_SECONDS} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the hub's output (for error messages)."""
        if self._log is None or not self._log.exists():
            return ""
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._cleanup()

    async def _cleanup(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(20):
                    await self._proc.wait()
            except TimeoutError:
                self._proc.kill()
                async with asyncio.timeout(10):
                    await self._proc.wait()
        if self._pg_name is not None and self._given_url:
            await _pg_admin(self._given_url, f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
