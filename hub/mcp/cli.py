"""CLI clients of a running hub: ``rmmhub mcp --stdio`` and ``rmmhub tools list|invoke`` (through the gate).

Both talk to the hub over HTTP with an API token (``--url``/``--token`` or ``RMMHUB_URL``/``RMMHUB_TOKEN``),
so the same policies, approvals and audit apply as for every other caller.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click
import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
_url = click.option("--url", envvar="RMMHUB_URL", default=DEFAULT_URL, show_default=True, help="the running hub")
_token = click.option("--token", envvar="RMMHUB_TOKEN", required=True, help="an API token (Admin -> API tokens)")


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _answer(response: httpx.Response) -> Any:
    try:
        data = response.json()
    except ValueError as exc:
        raise click.ClickException(f"the hub answered {response.status_code} without JSON") from exc
    if response.status_code == 401:
        raise click.ClickException("the token is unknown, revoked or expired")
    return data


@click.command("mcp")
@click.option("--stdio", "stdio", is_flag=True, required=True, help="serve MCP on stdin/stdout (desktop clients)")
@_url
@_token
def mcp_command(stdio: bool, url: str, token: str) -> None:
    """An MCP server on stdin/stdout that proxies to the running hub's /mcp as the token's user."""
    from hub.mcp.stdio import serve_stdio

    asyncio.run(serve_stdio(url, token))


@click.group("tools")
def tools_group() -> None:
    """List and invoke the hub's tools through the policy gate."""


@tools_group.command("list")
@_url
@_token
@click.option("--json", "as_json", is_flag=True, help="print JSON (stable keys: id, name, mode, description)")
def tools_list(url: str, token: str, as_json: bool) -> None:
    """Tools the token's user may use, with their policy."""
    try:
        with _client(url, token) as client:
            data = _answer(client.get("/api/v1/tools"))
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the hub at {url}: {exc}") from exc
    if not isinstance(data, list):
        raise click.ClickException(str(data.get("message", data)))
    rows = [
        {"id": t["id"], "name": t["name"], "mode": t["policy"]["mode"], "min_role": t["min_role"],
         "description": t["description"]}
        for t in data
    ]  # fmt: skip
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:50} {row['mode']:9} {row['description'].splitlines()[0][:70]}")


@tools_group.command("invoke")
@click.argument("name")
@click.option("--args", "args_json", default="{}", show_default=True, help="the arguments as a JSON object")
@click.option("--reason", default="", help="why (shown to approvers)")
@_url
@_token
@click.option("--json", "as_json", is_flag=True, help="print the outcome as JSON (status, tool, result, approval_id)")
def tools_invoke(name: str, args_json: str, reason: str, url: str, token: str, as_json: bool) -> None:
    """Invoke a tool: done (exit 0), pending approval (exit 0, prints the id), refused or failed (exit 1)."""
    try:
        args = json.loads(args_json)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc.msg} at {exc.pos}", param_hint="--args") from exc
    if not isinstance(args, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--args")
    try:
        with _client(url, token) as client:
            response = client.post(f"/api/v1/tools/{name}/invoke", json={"args": args, "reason": reason})
            data = _answer(response)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the hub at {url}: {exc}") from exc
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(data.get("message", ""))
        if data.get("result") is not None:
            click.echo(json.dumps(data["result"], indent=2))
    if response.status_code >= 400:
        raise SystemExit(1)
