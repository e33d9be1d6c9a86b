"""The ``rmmhub`` command line: serve, migrate, users, tokens, audit (more commands join per module)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from hub import __version__
from hub.core import audit
from hub.core.audit import Actor
from hub.core.auth import service as auth
from hub.core.bootstrap import bootstrap
from hub.core.db import Database, create_cli_engine
from hub.core.errors import RmmHubError
from hub.core.roles import Role
from hub.core.security import generate_password
from hub.core.settings import InsecureSettingsError, Settings, get_settings
from hub.core.tenancy import first_organization
from hub.lazycli import LazyGroup
from hub.migrate import upgrade
from policies import access

T = TypeVar("T")
CLI_ACTOR = Actor(user_id=None, label="cli", via="cli")


def _settings() -> Settings:
    try:
        return get_settings()
    except InsecureSettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@asynccontextmanager
async def _unit_of_work(settings: Settings) -> AsyncIterator[AsyncSession]:
    db = Database(create_cli_engine(settings.database_url), secret_key=settings.secret)
    try:
        async with db.transaction() as session:
            yield session
    finally:
        await db.dispose()


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def _main() -> T:
        async with _unit_of_work(settings) as session:
            return await work(session)

    try:
        return asyncio.run(_main())
    except RmmHubError as exc:
        raise click.ClickException(exc.message) from exc
    except auth.WeakPasswordError as exc:
        raise click.ClickException(str(exc)) from exc


# Imported only when used: together they cost seconds of CPU that `rmmhub user create` need not pay.
LAZY_COMMANDS = {
    "integrations": "connectors.connectwise_rmm.cli:integrations",
    "bench": "hub.bench:bench",
    "demo": "native_rmm.cli:demo",
    "customer": "native_rmm.customer_cli:customer",
    "installer": "native_rmm.cli:installer",
    "agent": "native_rmm.cli:agent",
    "chat": "hub.assistant.cli:chat",
    "assistant": "hub.bench.assistant_cli:assistant_group",  # the group, with `eval` added by that module
    "mcp": "hub.mcp.cli:mcp_command",
    "tools": "hub.mcp.cli:tools_group",
}


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS)
@click.version_option(__version__, prog_name="rmmhub")
def main() -> None:
    """rmmhub: the policy-gated hub for managed-service providers."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    settings = _settings()
    upgrade(settings.database_url)
    click.echo(f"database migrated ({settings.database_kind})")


def print_initial_admin(settings: Settings) -> None:
    """Bootstrap a fresh database and print the initial admin login once."""
    created = _run(settings, bootstrap)
    if created is None:
        return
    line = "=" * 64
    click.echo(
        f"\n{line}\n rmmhub first start: initial admin login (shown once, only its hash is stored)\n"
        f"   URL:      {settings.base_url}/login\n   username: {created.username}\n"
        f"   password: {created.password}\n{line}\n"
    )


@main.command()
@click.option("--host", default=None, help="bind address (default RMMHUB_HOST or 127.0.0.1)")
@click.option("--port", default=None, type=int, help="port (default RMMHUB_PORT or 8000)")
@click.option("--no-migrate", is_flag=True, help="do not migrate the database first")
@click.option("--with-local-agent", is_flag=True, help="also run an agent for this machine (as the current user)")
def serve(host: str | None, port: int | None, no_migrate: bool, with_local_agent: bool) -> None:
    """Migrate, bootstrap a fresh database, and run the hub."""
    import uvicorn

    from hub.core.logging import configure_logging
    from hub.local_agent import LocalAgent, base_installer_token
    from hub.main import create_app

    settings = _settings()
    if host or port:
        settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
    configure_logging(settings.log_level, json_output=settings.log_json)
    if not no_migrate:
        upgrade(settings.database_url)
    print_initial_admin(settings)
    agent = None
    if with_local_agent:
        token = _run(settings, base_installer_token)
        if token:
            agent = LocalAgent(hub_url=f"http://127.0.0.1:{settings.port}", token=token)
            agent.start()
    app = create_app(settings)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            ws="websockets-sansio",
            timeout_graceful_shutdown=5,
            proxy_headers=False,  # the app believes forwarding headers from RMMHUB_TRUSTED_PROXIES only
        )
    finally:
        if agent is not None:
            agent.stop()


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.OPERATOR.value, show_default=True)
@click.option("--name", "display_name", default="", help="display name")
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input instead of generating one")
def user_create(username: str, role: str, display_name: str, email: str | None, password_stdin: bool) -> None:
    """Create a user in the first organisation; prints a generated password unless --password-stdin."""
    settings = _settings()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()

    async def work(session: AsyncSession) -> None:
        org = await first_organization(session)
        if org is None:
            raise click.ClickException("no organisation yet: run `rmmhub serve` or `make run` once first")
        await auth.create_user(
            session,
            org_id=org.id,
            username=username,
            password=password,
            role=Role(role),
            display_name=display_name,
            email=email,
            actor=CLI_ACTOR,
        )

    _run(settings, work)
    click.echo(f"created {username} ({role})")
    if not password_stdin:
        click.echo(f"password: {password}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON (keys: id, username, role, disabled, display_name)")
def user_list(as_json: bool) -> None:
    """List users."""
    settings = _settings()

    async def work(session: AsyncSession) -> list[Any]:
        return list(await auth.list_users(session))

    users = _run(settings, work)
    if as_json:
        rows = [
            {
                "id": u.id,
                "username": u.username,
                "role": u.role.value,
                "disabled": u.disabled,
                "display_name": u.display_name,
                "org_id": u.org_id,
            }
            for u in users
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for u in users:
        state = "disabled" if u.disabled else "active"
        click.echo(f"{u.id:>4}  {u.username:<24} {u.role.value:<9} {state:<8} {u.display_name}")


def _set_disabled(username: str, disabled: bool) -> int:
    settings = _settings()

    async def work(session: AsyncSession) -> int:
        user = await auth.get_user_by_username(session, username)
        return await access.set_user_disabled(session, user, disabled, actor=CLI_ACTOR)

    return _run(settings, work)


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable a user (ends their sessions, revokes their tokens, fails their pending approvals)."""
    failed = _set_disabled(username, True)
    click.echo(f"disabled {username}" + (f"; failed {failed} pending approval(s)" if failed else ""))


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Re-enable a disabled user."""
    _set_disabled(username, False)
    click.echo(f"enabled {username}")


@user.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def user_role(username: str, role: str) -> None:
    """Change a user's role; a demotion fails the pending approvals they asked for with the higher role."""
    settings = _settings()

    async def work(session: AsyncSession) -> int:
        user = await auth.get_user_by_username(session, username)
        return await access.set_user_role(session, user, Role(role), actor=CLI_ACTOR)

    failed = _run(settings, work)
    click.echo(f"{username} is now {role}" + (f"; failed {failed} pending approval(s)" if failed else ""))


@main.group()
def token() -> None:
    """Manage API tokens (for scripts and MCP clients)."""


@token.command("create")
@click.option("--user", "username", required=True, help="the user the token acts as")
@click.option("--name", required=True, help="what the token is for")
@click.option("--expires-in-days", type=int, default=None)
def token_create(username: str, name: str, expires_in_days: int | None) -> None:
    """Create an API token; it is printed once and only its hash is stored."""
    settings = _settings()

    async def work(session: AsyncSession) -> str:
        owner = await auth.get_user_by_username(session, username)
        plain, _ = await auth.create_api_token(
            session, owner, name=name, expires_in_days=expires_in_days, actor=CLI_ACTOR
        )
        return plain

    click.echo(_run(settings, work))


@token.command("list")
def token_list() -> None:
    """List API tokens (prefixes only)."""
    settings = _settings()

    async def work(session: AsyncSession) -> list[Any]:
        return list(await auth.list_api_tokens(session))

    for t in _run(settings, work):
        state = "revoked" if t.revoked else "active"
        click.echo(f"{t.id:>4}  {t.prefix}…  {t.user.username:<20} {state:<8} {t.name}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke an API token by id."""
    settings = _settings()

    async def work(session: AsyncSession) -> None:
        await auth.revoke_api_token(session, token_id, actor=CLI_ACTOR)

    _run(settings, work)
    click.echo(f"revoked token {token_id}")


@main.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("verify")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="print JSON (keys: ok, checked, unsealed, checkpoint_seq, problem, first_bad_seq)",
)
def audit_verify(as_json: bool) -> None:
    """Verify the hash chain against the latest signed checkpoint (read-only); exits 1 when tampering is found."""
    settings = _settings()

    async def _main() -> audit.VerifyReport:
        db = Database(create_cli_engine(settings.database_url), secret_key=settings.secret)
        try:
            async with db.sessionmaker() as session:
                return await audit.verify_against_witness(session, settings)
        finally:
            await db.dispose()

    report = asyncio.run(_main())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "checked": report.checked,
                    "unsealed": report.unsealed,
                    "checkpoint_seq": report.checkpoint_seq,
                    "problem": report.problem or None,
                    "first_bad_seq": report.first_bad_seq,
                },
                indent=2,
            )
        )
        if not report.ok:
            sys.exit(1)
        return
    if report.ok:
        against = (
            f" (checkpoint #{report.checkpoint_seq} in {settings.audit_witness} matches)"
            if report.checkpoint_seq
            else f" (no checkpoint in {settings.audit_witness} yet)"
        )
        pending = f"; {report.unsealed} entries being sealed" if report.unsealed else ""
        click.echo(f"audit log intact: {report.checked} entries verified{against}{pending}")
        return
    where = f" (first bad entry #{report.first_bad_seq})" if report.first_bad_seq else ""
    click.echo(f"AUDIT LOG TAMPERED: {report.problem}{where}", err=True)
    sys.exit(1)


@main.command("relay")
@click.option("--host", default=None, help="address to listen on (default RMMHUB_RELAY_HOST)")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="port (default RMMHUB_RELAY_PORT)")
def relay_command(host: str | None, port: int | None) -> None:
    """Run a standalone relay node (tickets name it by RMMHUB_RELAY_URL; it shares RMMHUB_SECRET_KEY)."""
    from relay.loop import run as run_loop
    from relay.standalone import run

    settings = _settings()
    run_loop(run(settings, host or settings.relay_host, settings.relay_port if port is None else port))


if __name__ == "__main__":
    main()
