"""``rmmhub bench assistant``: tool-schema bytes per turn with 2,000 script tools, and the built-in model's turn time.

A throw-away hub with the seeded world gets ``--scripts`` extra script tools (``rmm-script-...``, with
schemas like real scripts'); the evaluation's requests run through the real assistant. Per turn it
records the JSON size of the tool definitions the model was sent (retrieval) against the size of every
tool the user may use (what a model would be sent without retrieval), whether the expected script was
still picked, and the turn's wall time.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import click
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.tools import ToolDefinition

from hub.assistant.builtin.model import respond
from hub.assistant.builtin.streaming import streamed
from hub.assistant.provider import ActiveModel
from hub.assistant.service import Assistant, assistant_caller
from hub.assistant.store import create_conversation
from hub.bench.assistant_eval import cases, seeded_hub
from hub.bench.stats import ms, percentile
from hub.core.models import User
from hub.core.registry import Tool, ToolAnnotations, ToolContext
from hub.core.roles import Role
from policies.offered import tools_offered_to

VERBS = [
    "reset",
    "repair",
    "rotate",
    "collect",
    "export",
    "rebuild",
    "check",
    "update",
    "sync",
    "backup",
    "scan",
    "renew",
]
OBJECTS = [
    "iis-app-pool",
    "outlook-profile",
    "teams-cache",
    "vpn-client",
    "bitlocker-key",
    "firewall-rules",
    "printer-driver",
    "wsus-client",
    "chrome-policy",
    "onedrive-sync",
    "sql-backup",
    "exchange-queue",
    "defender-signatures",
    "time-service",
    "ssl-certificate",
    "user-profile",
    "shadow-copies",
    "event-logs",
    "smb-shares",
    "hyper-v-vm",
]
OSES = ["windows", "linux", "macos"]


def _defs_bytes(defs: list[ToolDefinition]) -> int:
    return len(
        json.dumps(
            [{"name": d.name, "description": d.description, "parameters": d.parameters_json_schema} for d in defs]
        )
    )


def bench_tools(count: int, org_id: int) -> list[Tool]:
    """``count`` script-like tools with distinct names, descriptions and parameter schemas."""

    async def handler(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        return {"queued": args.get("device_ids", [])}

    tools = []
    for n in range(count):
        verb, obj, os_name = VERBS[n % len(VERBS)], OBJECTS[(n // len(VERBS)) % len(OBJECTS)], OSES[n % len(OSES)]
        schema = {
            "type": "object",
            "additionalProperties": False,
            "required": ["device_ids"],
            "properties": {
                "device_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
                "timeout_minutes": {"type": "integer", "minimum": 1, "maximum": 120, "title": "Timeout (minutes)"},
                "force": {"type": "boolean", "default": False, "title": "Force even when in use"},
            },
        }
        tools.append(
            Tool(
                source="bench_scripts",
                name=f"rmm-script-{verb}-{obj}-{n}",
                org_id=org_id,
                description=f"Run the script '{verb.title()} {obj.replace('-', ' ')} #{n}' ({os_name.title()}, shell) "
                f"on one or more devices. {verb.title()}s the {obj.replace('-', ' ')} of the device.",
                input_schema=schema,
                handler=handler,
                result_type=dict[str, Any],
                min_role=Role.OPERATOR,
                annotations=ToolAnnotations(read_only=False),
                title=f"{verb} {obj}",
            )
        )
    return tools


async def run(scripts: int, rounds: int) -> dict[str, Any]:
    sent: list[int] = []
    times: list[float] = []

    def measuring(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        sent.append(_defs_bytes(info.function_tools))
        return respond(messages, info)

    async with seeded_hub() as (hub, world):
        hub.registry.register_all(bench_tools(scripts, world.org_id))
        assistant = hub.components.get(Assistant)
        fresh = Assistant(
            hub,
            assistant.gate,
            model=ActiveModel(
                FunctionModel(measuring, stream_function=streamed(measuring)), "built-in (measured)", True
            ),
        )
        async with hub.db.transaction() as session:
            user = await session.get(User, world.operator_id)
            assert user is not None
            caller = assistant_caller(user)
            offered = await tools_offered_to(session, hub.registry, caller)
        full = fresh.toolsets.get(
            version=hub.registry.version, org_id=caller.org_id, role=caller.role.value, offered=offered
        )
        all_bytes = _defs_bytes([t.tool_def for t in full.tools.values()])
        script_cases = [c for c in cases(world) if c.calls and c.calls[0][0].startswith("rmm-script-") and not c.setup]
        found = 0
        for _ in range(rounds):
            for case in cases(world):
                async with hub.db.transaction() as session:
                    conv = (await create_conversation(session, caller)).id
                for earlier in case.setup:
                    await fresh.send(caller, conv, earlier)
                start = time.perf_counter()
                turn = await fresh.send(caller, conv, case.request)
                times.append(time.perf_counter() - start)
                if case in script_cases and [s.tool for s in turn.steps if s.tool != "rmm-list-devices"][:1] == [
                    case.calls[0][0]
                ]:
                    found += 1
    per_turn = sorted(sent)
    return {
        "scripts": scripts,
        "tools_offered": len(full.tools),
        "schema_bytes_all": all_bytes,
        "schema_bytes_per_request_p50": int(percentile(per_turn, 50)),
        "schema_bytes_per_request_max": max(per_turn),
        "ratio": round(all_bytes / max(1, max(per_turn)), 1),
        "script_requests": len(script_cases) * rounds,
        "script_found": found,
        "turn_p50_ms": round(percentile(times, 50) * 1000, 1),
        "turn_p99_ms": round(percentile(times, 99) * 1000, 1),
        "turns": len(times),
    }


@click.command("assistant")
@click.option("--scripts", type=click.IntRange(1, 20000), default=2000, show_default=True, help="extra script tools")
@click.option("--rounds", type=click.IntRange(1, 20), default=1, show_default=True, help="passes over the requests")
def assistant_bench(scripts: int, rounds: int) -> None:
    """Tool-schema bytes per model request (retrieval vs all tools) and built-in model time per turn."""
    result = asyncio.run(run(scripts, rounds))
    click.echo(f"tools the user may use:        {result['tools_offered']} ({scripts} extra script tools)")
    click.echo(f"schema bytes, all tools:       {result['schema_bytes_all']:>10,}")
    click.echo(f"schema bytes per request p50:  {result['schema_bytes_per_request_p50']:>10,}  (retrieval)")
    click.echo(
        f"schema bytes per request max:  {result['schema_bytes_per_request_max']:>10,}  (ratio {result['ratio']}x)"
    )
    click.echo(f"expected script still picked:  {result['script_found']}/{result['script_requests']}")
    click.echo(
        f"built-in model turn p50 / p99: {ms(result['turn_p50_ms'] / 1000)} / {ms(result['turn_p99_ms'] / 1000)}"
        f" over {result['turns']} turns"
    )
    click.echo(json.dumps(result))
