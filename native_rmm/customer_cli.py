"""``rmmhub customer``: customers and sites from the command line, through the hub's REST API.

Every change is a tool invocation through the policy gate (the same as the UI's), made with an API
token (``rmmhub token create``): ``--hub`` / ``RMMHUB_URL`` and ``--token`` / ``RMMHUB_TOKEN``.
"""

from __future__ import annotations

from typing import Any

import click
import httpx

DEFAULT_HUB = "http://127.0.0.1:8000"


class _Api:
    def __init__(self, hub: str, token: str) -> None:
        self.client = httpx.Client(base_url=hub.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.client.request(method, f"/api/v1/rmm{path}", json=body)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach the hub: {exc}") from exc
        try:
            data = response.json()
        except ValueError as exc:
            raise click.ClickException(f"the hub answered {response.status_code} without JSON") from exc
        if response.status_code == 202:
            click.echo(f"pending approval #{data.get('approval_id')}: {data.get('message', '')}")
            raise SystemExit(0)
        if response.status_code >= 400:
            detail = data.get("message") or data.get("detail") or data
            raise click.ClickException(f"{response.status_code}: {detail}")
        return data.get("result")


pass_api = click.make_pass_decorator(_Api)


@click.group()
@click.option("--hub", envvar="RMMHUB_URL", default=DEFAULT_HUB, show_default=True, help="the hub's URL")
@click.option("--token", envvar="RMMHUB_TOKEN", required=True, help="an API token (rmmhub token create)")
@click.pass_context
def customer(ctx: click.Context, hub: str, token: str) -> None:
    """Customers and sites: list, create, rename, archive, add sites (through the policy gate)."""
    ctx.obj = _Api(hub, token)
    ctx.call_on_close(ctx.obj.client.close)


@customer.command("list")
@pass_api
def customer_list(api: _Api) -> None:
    """Customers with their sites and device counts."""
    for c in api.call("GET", "/customers"):
        flag = " (archived)" if c["archived"] else ""
        click.echo(f"#{c['id']}\t{c['name']}{flag}\t{c['device_count']} device(s)")
        for s in c["sites"]:
            click.echo(f"    site #{s['id']}\t{s['name']}{' (archived)' if s['archived'] else ''}\t{s['device_count']}")


@customer.command("create")
@click.argument("name")
@click.option("--site", "first_site", default="Main", show_default=True, help="name of its first site")
@pass_api
def customer_create(api: _Api, name: str, first_site: str) -> None:
    """Create customer NAME."""
    c = api.call("POST", "/customers", {"name": name, "first_site": first_site})
    click.echo(f"created customer #{c['id']} {c['name']} with site #{c['sites'][0]['id']} {c['sites'][0]['name']}")


@customer.command("rename")
@click.argument("customer_id", type=click.IntRange(1))
@click.argument("name")
@pass_api
def customer_rename(api: _Api, customer_id: int, name: str) -> None:
    """Rename customer CUSTOMER_ID to NAME."""
    c = api.call("PATCH", f"/customers/{customer_id}", {"name": name})
    click.echo(f"customer #{c['id']} is now {c['name']}")


@customer.command("archive")
@click.argument("customer_id", type=click.IntRange(1))
@click.option("--restore", is_flag=True, help="restore an archived customer")
@pass_api
def customer_archive(api: _Api, customer_id: int, restore: bool) -> None:
    """Archive customer CUSTOMER_ID (refused while devices remain)."""
    c = api.call("PATCH", f"/customers/{customer_id}", {"archived": not restore})
    click.echo(f"customer #{c['id']} {c['name']} {'restored' if restore else 'archived'}")


@customer.command("add-site")
@click.argument("customer_id", type=click.IntRange(1))
@click.argument("name")
@pass_api
def customer_add_site(api: _Api, customer_id: int, name: str) -> None:
    """Add site NAME to customer CUSTOMER_ID."""
    s = api.call("POST", f"/customers/{customer_id}/sites", {"name": name})
    click.echo(f"created site #{s['id']} {s['name']} for {s['customer']}")


@customer.command("site")
@click.argument("site_id", type=click.IntRange(1))
@click.option("--name", default=None, help="rename the site")
@click.option("--archive/--restore", "archived", default=None, help="archive (refused while devices remain) or restore")
@pass_api
def customer_site(api: _Api, site_id: int, name: str | None, archived: bool | None) -> None:
    """Rename, archive or restore site SITE_ID."""
    body = {k: v for k, v in {"name": name, "archived": archived}.items() if v is not None}
    if not body:
        raise click.UsageError("give --name and/or --archive/--restore")
    s = api.call("PATCH", f"/sites/{site_id}", body)
    click.echo(f"site #{s['id']} {s['customer']} / {s['name']}{' (archived)' if s['archived'] else ''}")
