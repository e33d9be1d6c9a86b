"""``rmmhub assistant eval``: the evaluation set run against the built-in model in a seeded throw-away hub.

Each case runs in a fresh conversation of the operator in the seeded world (:mod:`hub.assistant.world`)
through the real hub: the same agent loop, toolsets and gate (:mod:`hub.assistant.evaluation` has the cases).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import click

from hub.assistant.evaluation import Verdict, cases, matches
from hub.assistant.service import Assistant, assistant_caller
from hub.assistant.store import create_conversation
from hub.assistant.world import World, seed_world
from hub.core.context import HubContext
from hub.core.models import User
from hub.core.settings import Environment, Settings
from hub.main import create_app
from hub.migrate import upgrade
from policies.pipeline import Gate


@asynccontextmanager
async def seeded_hub(*, scripts: int = 0) -> AsyncIterator[tuple[HubContext, World]]:
    """A throw-away hub (SQLite in a temporary folder, no scheduler) with the seeded world."""
    with tempfile.TemporaryDirectory(prefix="rmmhub-assistant-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'eval.db'}"
        await asyncio.to_thread(upgrade, url)
        settings = Settings(
            _env_file=None, env=Environment.DEV, secret_key="eval-" + uuid.uuid4().hex * 2, database_url=url,  # type: ignore[call-arg]
            scheduler_enabled=False, relay_port=0, audit_witness=Path(folder) / "witness.log",
        )  # fmt: skip
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            hub: HubContext = app.state.hub
            world = await seed_world(hub, hub.components.get(Gate))
            yield hub, world


async def run_eval() -> list[Verdict]:
    """Run every case; returns the verdicts."""
    verdicts = []
    async with seeded_hub() as (hub, world):
        assistant = hub.components.get(Assistant)
        async with hub.db.transaction() as session:
            user = await session.get(User, world.operator_id)
            assert user is not None
            caller = assistant_caller(user)
        for case in cases(world):
            async with hub.db.transaction() as session:
                conv = (await create_conversation(session, caller)).id
            for earlier in case.setup:
                await assistant.send(caller, conv, earlier)
            turn = await assistant.send(caller, conv, case.request)
            calls, ok = matches(case.calls, turn.steps)
            ok = ok and (not case.reply or case.reply.lower() in turn.reply.lower())
            verdicts.append(Verdict(case, calls, turn.reply, ok))
    return verdicts


@click.command("eval")
def assistant_eval() -> None:
    """Run the helpdesk evaluation against the built-in model in a seeded world; ends with one JSON line."""
    verdicts = asyncio.run(run_eval())
    for verdict in verdicts:
        if not verdict.passed:
            click.echo(f"FAIL {verdict.case.request!r}", err=True)
            click.echo(f"  expected {verdict.case.calls} reply~{verdict.case.reply!r}", err=True)
            click.echo(f"  got      {verdict.calls} reply={verdict.reply[:300]!r}", err=True)
    passed = sum(v.passed for v in verdicts)
    click.echo(json.dumps({"accuracy": round(passed / len(verdicts), 3), "cases": len(verdicts), "passed": passed}))
