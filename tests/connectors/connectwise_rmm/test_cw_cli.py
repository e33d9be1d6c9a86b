"""``rmmhub integrations ...`` as a real subprocess against a loopback fake ConnectWise tenant."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cw_tenant import FakeTenant, LoopbackServer
from cw_world import CWWorld
from sqlalchemy import select

from connectors.connectwise_rmm.models import ConnectionStatus, CWConnection
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.settings import Settings
from tests.conftest import SECRET, Tenancy, free_port

ROOT = Path(__file__).resolve().parents[3]


def _cli(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RMMHUB_")}
    env.update(RMMHUB_ENV="dev", RMMHUB_SECRET_KEY=SECRET, RMMHUB_DATABASE_URL=settings.database_url)
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "integrations", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


async def test_cli_connect_status_rediscover_disconnect(
    settings: Settings, tenancy: Tenancy, tenant: FakeTenant, db: Database, hub: HubContext, cw_world: CWWorld
) -> None:
    with LoopbackServer(tenant, free_port()) as server:
        connect = ["connect", "connectwise-rmm", "--client-id", tenant.client_id, "--region", "au"]
        wrong = _cli(settings, *connect, "--base-url", server.url, stdin="wrong-key\n")
        assert wrong.returncode == 1
        assert "HTTP 401" in wrong.stderr and "Client authentication failed" in wrong.stderr
        assert "wrong-key" not in wrong.stdout + wrong.stderr

        done = _cli(settings, *connect, "--base-url", server.url, stdin=tenant.client_secret + "\n")
        assert done.returncode == 0, done.stderr
        assert "Connected to ConnectWise RMM (AU): 20 tools registered (18 static, 2 scripts)" in done.stdout
        assert tenant.client_secret not in done.stdout + done.stderr
        token_body = tenant.calls("POST", "/v1/token")[-1].body
        assert token_body["client_id"] == tenant.client_id and token_body["grant_type"] == "client_credentials"

        async with db.sessionmaker() as s:
            row = (await s.execute(select(CWConnection))).scalar_one()
        assert row.status is ConnectionStatus.CONNECTED and row.base_url == server.url
        assert row.client_secret_encrypted and tenant.client_secret not in row.client_secret_encrypted

        status = _cli(settings, "status")
        assert status.returncode == 0, status.stderr
        assert "Acme MSP" in status.stdout and "connectwise-rmm connected" in status.stdout
        assert "18 static + 2 script tools" in status.stdout and tenant.client_secret not in status.stdout

        # the running hub picks the CLI-made connection up at its next scheduled discovery
        assert await hub.scheduler.run_now("cw-rmm-discovery") == 1
        assert hub.registry.resolve("cw-rmm-script-disk-cleanup", tenancy.org_id).org_id == tenancy.org_id

        tenant.scripts = tenant.scripts[:1]
        again = _cli(settings, "rediscover", "connectwise-rmm")
        assert again.returncode == 0, again.stderr
        assert "1 active scripts: 0 added, 0 updated, 1 removed" in again.stdout

        gone = _cli(settings, "disconnect", "connectwise-rmm")
        assert gone.returncode == 0, gone.stderr
        assert "Disconnected ConnectWise RMM" in gone.stdout
        assert "connectwise-rmm disconnected" in _cli(settings, "status").stdout
