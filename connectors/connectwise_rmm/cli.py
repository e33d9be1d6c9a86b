"""``rmmhub integrations ...``: connect, inspect, rediscover and disconnect ConnectWise RMM from a shell.

Works against the database directly (like the other CLI commands) and calls ConnectWise itself to
authenticate and discover scripts. A running hub registers the tools of a connection made here at its
next scheduled discovery or restart.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.connectwise_rmm import service
from connectors.connectwise_rmm.manager import ConnectionManager
from connectors.connectwise_rmm.models import CWConnection
from connectors.connectwise_rmm.regions import DEFAULT_REGION, Region
from connectors.connectwise_rmm.schemas.integration import (
    ConnectionOut,
    ConnectResult,
    DisconnectResult,
    DiscoveryResult,
)
from connectors.connectwise_rmm.settings import ConnectWiseSettings
from hub.core.caller import Caller, CallerKind
from hub.core.db import Database, create_cli_engine
from hub.core.errors import RmmHubError
from hub.core.events import InProcessBus
from hub.core.models import Organization
from hub.core.registry import ToolRegistry
from hub.core.roles import Role
from hub.core.settings import InsecureSettingsError, Settings, get_settings
from hub.core.tenancy import first_organization
from policies.pipeline import Gate

T = TypeVar("T")
INTEGRATION = click.Choice(["connectwise-rmm"])


def _settings() -> Settings:
    try:
        return get_settings()
    except InsecureSettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _run(work: Callable[[ConnectionManager], Awaitable[T]]) -> T:
    """Run ``work`` with a manager over the configured database (a throwaway registry; clients closed after)."""
    settings = _settings()

    async def _main() -> T:
        db = Database(create_cli_engine(settings.database_url), secret_key=settings.secret)
        registry, bus = ToolRegistry(), InProcessBus()
        manager = ConnectionManager(
            db=db,
            registry=registry,
            bus=bus,
            gate=Gate(registry=registry, bus=bus, settings=settings),
            secret_key=settings.secret,
            settings=ConnectWiseSettings(),
        )
        try:
            return await work(manager)
        finally:
            await manager.close()
            await db.dispose()

    try:
        return asyncio.run(_main())
    except RmmHubError as exc:
        raise click.ClickException(exc.message) from exc


async def _org(session: AsyncSession, org_id: int | None) -> Organization:
    if org_id is not None:
        org = await session.get(Organization, org_id)
        if org is None:
            raise click.ClickException(f"no organisation with id {org_id}")
        return org
    org = await first_organization(session)
    if org is None:
        raise click.ClickException("no organisation yet: run `rmmhub serve` once first")
    return org


def _cli_caller(org_id: int) -> Caller:
    return Caller(user_id=None, label="cli", role=Role.ADMIN, org_id=org_id, kind=CallerKind.SYSTEM)


def _read_secret() -> str:
    if sys.stdin.isatty():
        secret: str = click.prompt("ConnectWise API key (client secret)", hide_input=True)
        return secret.strip()
    return sys.stdin.readline().strip()


@click.group("integrations")
def integrations() -> None:
    """Connect and manage integrations (ConnectWise RMM)."""


@integrations.command("connect")
@click.argument("integration", type=INTEGRATION)
@click.option("--client-id", required=True, help="the Asio Client ID")
@click.option("--region", type=click.Choice([r.value for r in Region]), default=DEFAULT_REGION.value, show_default=True)
@click.option("--base-url", default=None, help="API host override (gateway or test server); default: the region's")
@click.option("--org-id", type=int, default=None, help="organisation to connect (default: the first one)")
def connect(integration: str, client_id: str, region: str, base_url: str | None, org_id: int | None) -> None:
    """Connect ConnectWise RMM; the API key (client secret) is read from standard input."""
    secret = _read_secret()
    if not secret:
        raise click.ClickException("no API key on standard input (pipe it in: `... < keyfile`)")

    async def work(manager: ConnectionManager) -> ConnectResult:
        async with manager.db.transaction() as session:
            org = await _org(session, org_id)
            return await service.connect(
                session, manager, caller=_cli_caller(org.id), client_id=client_id,
                client_secret=SecretStr(secret), region=Region(region), base_url=base_url,
            )  # fmt: skip

    result = _run(work)
    if result.status != "connected":
        raise click.ClickException(result.message)
    click.echo(result.message)


@integrations.command("status")
@click.option("--json", "as_json", is_flag=True, help="print JSON (keys: organization and the connection's fields)")
def status(as_json: bool) -> None:
    """Show every organisation's ConnectWise RMM connection (never the API key)."""

    async def work(manager: ConnectionManager) -> list[tuple[str, ConnectionOut]]:
        async with manager.db.sessionmaker() as session:
            rows = (await session.execute(select(CWConnection, Organization).join(Organization))).all()
            return [(f"{org.name} (#{org.id})", await service.status(session, manager, org.id)) for _, org in rows]

    found = _run(work)
    if as_json:
        import json

        click.echo(json.dumps([{"organization": org, **out.model_dump(mode="json")} for org, out in found], indent=2))
        return
    if not found:
        click.echo("no ConnectWise RMM connections")
        return
    for org, out in found:
        when = f"{out.last_discovery_at:%Y-%m-%d %H:%M} UTC" if out.last_discovery_at else "never"
        click.echo(
            f"{org}: connectwise-rmm {out.status}, client {out.client_id}, region {out.region}, "
            f"{len(out.scopes)} scopes, {out.static_tools} static + {out.script_tools} script tools, "
            f"last discovery {when}"
        )
        if out.last_error:
            click.echo(f"  last error: {out.last_error}")


@integrations.command("rediscover")
@click.argument("integration", type=INTEGRATION)
@click.option("--org-id", type=int, default=None)
def rediscover(integration: str, org_id: int | None) -> None:
    """Re-list the tenant's shell scripts now and update the script tools."""

    async def work(manager: ConnectionManager) -> DiscoveryResult:
        async with manager.db.transaction() as session:
            org = await _org(session, org_id)
            return await service.rediscover(session, manager, org_id=org.id, actor=_cli_caller(org.id).actor)

    result = _run(work)
    if result.status != "ok":
        raise click.ClickException(result.message)
    click.echo(result.message)


@integrations.command("disconnect")
@click.argument("integration", type=INTEGRATION)
@click.option("--org-id", type=int, default=None)
def disconnect(integration: str, org_id: int | None) -> None:
    """Disconnect ConnectWise RMM: forget the API key, remove its tools, fail their pending approvals."""

    async def work(manager: ConnectionManager) -> DisconnectResult:
        async with manager.db.transaction() as session:
            org = await _org(session, org_id)
            return await service.disconnect(session, manager, caller=_cli_caller(org.id))

    click.echo(_run(work).message)
