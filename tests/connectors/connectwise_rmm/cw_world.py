"""The hub-side wiring of the fake tenants: a client factory routing by Client ID, and request helpers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from cw_tenant import FakeTenant, shell_script
from pydantic import SecretStr

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client.regions import Region
from connectors.connectwise_rmm.client.retry import RetryPolicy
from connectors.connectwise_rmm.manager import ConnectionManager
from connectors.connectwise_rmm.settings import ConnectWiseSettings


async def _instant(_: float) -> None:
    await asyncio.sleep(0)


class CWWorld:
    """The fake ConnectWise tenants the hub under test can reach, routed by Client ID."""

    def __init__(self, manager: ConnectionManager, default: FakeTenant) -> None:
        self.manager = manager
        self.default = default
        self.tenants: dict[str, FakeTenant] = {default.client_id: default}
        manager.client_factory = self.build
        manager.settings = ConnectWiseSettings(script_wait_seconds=30, poll_interval_seconds=0.01)

    def add(self, tenant: FakeTenant) -> FakeTenant:
        self.tenants[tenant.client_id] = tenant
        return tenant

    def build(
        self, *, client_id: str, client_secret: SecretStr, region: Region, base_url: str | None, scopes: Any
    ) -> ConnectWiseClient:
        tenant = self.tenants.get(client_id, self.default)
        return ConnectWiseClient(
            client_id=client_id,
            client_secret=client_secret,
            region=region,
            base_url=base_url,
            scopes=scopes,
            transport=tenant.transport(),
            rate_limit=None,
            retry=RetryPolicy(jitter=0.0, max_attempts=1),
            sleep=_instant,
        )


def default_scripts() -> list[dict[str, Any]]:
    return [
        shell_script(
            "aaaa1111-0000-4000-8000-000000000001",
            "Disk Cleanup",
            schema={
                "type": "object",
                "properties": {"days": {"type": "integer", "minimum": 1}, "drive": {"type": "string"}},
                "required": ["days"],
                "additionalProperties": False,
            },
        ),
        shell_script("bbbb2222-0000-4000-8000-000000000002", "Restart Print Spooler"),
        shell_script("cccc3333-0000-4000-8000-000000000003", "Old Thing", state="Inactive"),
    ]


async def connect_org(client: httpx.AsyncClient, tenant: FakeTenant, region: str = "au") -> httpx.Response:
    """``POST /api/v1/integrations/connectwise-rmm`` with the tenant's credentials."""
    body = {"client_id": tenant.client_id, "client_secret": tenant.client_secret, "region": region}
    return await client.post("/api/v1/integrations/connectwise-rmm", json=body)
