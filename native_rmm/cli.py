"""``rmmhub demo`` and ``rmmhub installer``: the native RMM's command-line helpers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.db import Database, create_cli_engine
from hub.core.errors import RmmHubError
from hub.core.settings import InsecureSettingsError, Settings, get_settings
from hub.core.tenancy import first_organization
from native_rmm.demo.service import clear_demo_devices, seed_demo_devices
from native_rmm.installers import service as installers
from native_rmm.installers.binary import BinaryBuildError, build_binary
from native_rmm.installers.uv import UvStageError, stage_uv
from native_rmm.settings import get_rmm_settings
from native_rmm.updates.releases import WHEEL_PLATFORM, ReleaseError, publish

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return get_settings()
    except InsecureSettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _in_first_org(work: Callable[[AsyncSession, int, Settings], Awaitable[T]]) -> T:
    settings = _settings()

    async def main() -> T:
        db = Database(create_cli_engine(settings.database_url), secret_key=settings.secret)
        try:
            async with db.transaction() as session:
                org = await first_organization(session)
                if org is None:
                    raise click.ClickException("no organisation yet: run `rmmhub serve` (or `make run`) once first")
                return await work(session, org.id, settings)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except RmmHubError as exc:
        raise click.ClickException(exc.message) from exc


@click.group()
def demo() -> None:
    """Demo devices (flagged as demo everywhere) for trying rmmhub without agents."""


@demo.command("seed")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(1, 24 * 7), help="hours of samples")
def demo_seed(hours: int) -> None:
    """Create the demo fleet under "Demo Customer" with a minute-by-minute history."""

    async def work(session: AsyncSession, org_id: int, _: Settings) -> list[str]:
        return [d.hostname for d in await seed_demo_devices(session, org_id=org_id, hours=hours)]

    names = _in_first_org(work)
    click.echo(f"seeded {len(names)} demo devices: {', '.join(names)}")


@demo.command("clear")
def demo_clear() -> None:
    """Delete every demo device."""

    async def work(session: AsyncSession, org_id: int, _: Settings) -> int:
        return await clear_demo_devices(session, org_id=org_id)

    click.echo(f"deleted {_in_first_org(work)} demo devices")


@click.group()
def installer() -> None:
    """Agent installers (Admin -> Agent installers in the web UI)."""


@installer.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON (keys: id, name, kind, uses, max_uses, commands)")
def installer_list(as_json: bool) -> None:
    """Print every installer with its per-OS install command."""

    async def rows(session: AsyncSession, org_id: int, settings: Settings) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        for item in await installers.list_installers(session, org_id=org_id):
            view = installers.view(session, item, base_url=settings.base_url)
            found.append({"id": item.id, "name": item.name, "kind": item.kind.value, "uses": item.uses,
                          "max_uses": item.max_uses, "commands": dict(view.commands)})  # fmt: skip
        return found

    if as_json:
        import json

        click.echo(json.dumps(_in_first_org(rows), indent=2))
        return

    async def work(session: AsyncSession, org_id: int, settings: Settings) -> list[str]:
        lines = []
        for item in await installers.list_installers(session, org_id=org_id):
            view = installers.view(session, item, base_url=settings.base_url)
            limits = f"uses {item.uses}" + (f"/{item.max_uses}" if item.max_uses else "")
            lines.append(f"#{item.id} {item.name} ({item.kind.value}, {limits})")
            lines += [f"  {os:<8} {command}" for os, command in view.commands.items()]
        return lines

    for line in _in_first_org(work):
        click.echo(line)


@click.group()
def agent() -> None:
    """Agent distribution: the single-file Linux agent and the uv binaries installers download."""


@agent.command("stage")
@click.option("--no-binary", is_flag=True, help="skip building the single-file Linux agent")
@click.option("--no-uv", is_flag=True, help="skip staging uv (Windows/macOS installers need it)")
def agent_stage(no_binary: bool, no_uv: bool) -> None:
    """Build the single-file agent (cached by agent source hash) and stage uv per platform."""
    dist = get_rmm_settings().agent_dist_dir
    try:
        if not no_uv:
            for staged in stage_uv(dist):
                click.echo(f"uv {staged.platform:<16} {staged.path}")
        if not no_binary and not sys.platform.startswith("linux"):
            click.echo("agent: the single-file agent is built on Linux hubs only; installers use uv")
        elif not no_binary:
            built, seconds = build_binary(dist)
            how = f"built in {seconds:.0f} s" if seconds else "cached (agent source unchanged)"
            click.echo(f"agent linux-{built.arch:<10} {built.path} ({how})")
    except (BinaryBuildError, UvStageError) as exc:
        raise click.ClickException(str(exc)) from exc


@agent.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--version", "version", required=True, help="the release's version, e.g. 0.2.0")
@click.option("--wheel", is_flag=True, help="FILE is an agent wheel (virtualenv agents update from it)")
def agent_publish(file: Path, version: str, wheel: bool) -> None:
    """Publish FILE as agent release VERSION; outdated agents are offered it (signed at update time)."""
    try:
        release = publish(get_rmm_settings().agent_dist_dir, file, version, WHEEL_PLATFORM if wheel else None)
    except ReleaseError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"published {release.platform} {release.version} ({release.sha256})")
