"""``rmmhub assistant eval``: the helpdesk evaluation (it builds a whole hub, so it sits above hub.main)."""

from __future__ import annotations

import json

import click

from hub.assistant.cli import assistant_group


@assistant_group.command("eval")
def assistant_eval() -> None:
    """Run the helpdesk evaluation against the built-in model in a seeded world; ends with one JSON line."""
    import asyncio

    from hub.bench.assistant_eval import run_eval

    verdicts = asyncio.run(run_eval())
    for verdict in verdicts:
        if not verdict.passed:
            click.echo(f"FAIL {verdict.case.request!r}", err=True)
            click.echo(f"  expected {verdict.case.calls} reply~{verdict.case.reply!r}", err=True)
            click.echo(f"  got      {verdict.calls} reply={verdict.reply[:300]!r}", err=True)
    passed = sum(v.passed for v in verdicts)
    click.echo(json.dumps({"accuracy": round(passed / len(verdicts), 3), "cases": len(verdicts), "passed": passed}))
