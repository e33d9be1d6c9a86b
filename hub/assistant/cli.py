"""``rmmhub chat``: talk to the running hub's assistant with an API token."""

from __future__ import annotations

import json
import sys

import click
import httpx

TIMEOUT_SECONDS = 120.0


@click.command("chat")
@click.argument("question")
@click.option("--conversation", type=int, default=None, help="continue this conversation (default: a new one)")
@click.option("--plan", is_flag=True, help="plan mode: propose the tool calls, run nothing")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object: conversation_id, reply, tool_calls")
@click.option("--url", envvar="RMMHUB_URL", default="http://127.0.0.1:8000", show_default=True, help="the hub")
@click.option("--token", envvar="RMMHUB_TOKEN", required=True, help="an API token (rmmhub token create)")
def chat(question: str, conversation: int | None, plan: bool, as_json: bool, url: str, token: str) -> None:
    """Ask the assistant QUESTION; tool calls go through the hub's policy gate on your behalf."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=TIMEOUT_SECONDS) as client:
            if conversation is None:
                created = client.post("/api/v1/assistant/conversations", json={})
                _check(created)
                conversation = int(created.json()["id"])
            answer = client.post(
                f"/api/v1/assistant/conversations/{conversation}/messages", json={"text": question, "plan": plan}
            )
            _check(answer)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"could not reach the hub at {url}: {exc}") from exc
    turn = answer.json()
    if as_json:
        calls = [
            {"tool": c["tool"], "args": c["args"], "status": c["status"], "approval_id": c["approval_id"]}
            for c in turn["tool_calls"]
        ]
        click.echo(
            json.dumps({"conversation_id": turn["conversation_id"], "reply": turn["reply"], "tool_calls": calls})
        )
        return
    for call in turn["tool_calls"]:
        extra = f" (approval #{call['approval_id']})" if call["approval_id"] else ""
        click.echo(f"  [{call['status']}] {call['tool']} {json.dumps(call['args'])}{extra}", err=True)
    click.echo(turn["reply"])
    click.echo(f"(conversation {turn['conversation_id']})", err=True)


def _check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        click.echo(f"error {response.status_code}: {message}", err=True)
        sys.exit(1)


@click.group("assistant")
def assistant_group() -> None:
    """The helpdesk assistant."""
