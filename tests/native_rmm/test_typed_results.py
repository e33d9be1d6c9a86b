"""Typed tool results: every tool declares its result type, the gate checks it, /api/v1/tools publishes it.

The REST answer, the stored approval result and the typed value the UI reads are the same answer: the
JSON of a real invocation validates against the tool's published ``output_schema``, and the typed value
comes back from an executed approval's stored JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from agent.protocol import CommandStatus
from connectors.connectwise_rmm.tools import STATIC_TOOLS
from hub.core.context import HubContext
from hub.core.db import Database
from hub.core.registry import ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.commands.schemas import CommandOut
from native_rmm.devices.schemas import DeviceList
from native_rmm.testing.agentsim import SimAgent, sample_inventory
from policies import approvals
from policies.models import PolicyMode
from policies.outcome import InvocationStatus, Outcome
from policies.pipeline import Gate
from policies.queries import executed_result
from policies.service import set_policy
from tests.conftest import Tenancy
from tests.native_rmm.conftest import caller_of

Invoke = Callable[..., Awaitable[Outcome]]


def _conforms(schema: dict[str, Any], data: Any) -> None:
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(data)]
    assert errors == [], errors


async def test_every_tool_publishes_a_valid_output_schema(hub: HubContext, tenancy: Tenancy, client_for: Any) -> None:
    listed = (await client_for(tenancy.admin).get("/api/v1/tools")).json()
    assert listed, "the native tools are registered"
    for tool in listed:
        Draft202012Validator.check_schema(tool["output_schema"])
    by_name = {t["name"]: t["output_schema"] for t in listed}
    assert set(by_name["rmm-run-command"]["properties"]) >= {"id", "status", "stdout", "stderr", "exit_code"}
    assert by_name["rmm-list-customers"]["type"] == "array"
    assert by_name["rmm-list-devices"]["title"] == "DeviceList"


def test_connector_tools_declare_result_types() -> None:
    for spec in STATIC_TOOLS:
        assert spec.handler.__annotations__["return"] in ("JsonObject", "TaskAnswer"), spec.name


async def test_results_conform_to_their_schema_and_come_back_typed(
    agent: SimAgent, invoke: Invoke, tenancy: Tenancy, hub: HubContext, db: Database
) -> None:
    await agent.checkin(inventory=sample_inventory("LON-DC-01"))
    async with db.transaction() as session:
        tool = hub.registry.resolve("rmm-run-command", tenancy.org_id)
        await set_policy(session, caller=caller_of(tenancy.admin), tool=tool, mode=PolicyMode.AUTO)
    listed = await invoke(tenancy.viewer, "rmm-list-devices", {})
    devices = listed.result_as(DeviceList)
    assert devices is not None and [d.hostname for d in devices.devices] == ["LON-DC-01"]
    ran = await invoke(tenancy.admin, "rmm-run-command", {"device": "LON-DC-01", "command": "uptime"})
    command = ran.result_as(CommandOut)
    assert command is not None and command.status is CommandStatus.QUEUED and command.body == "uptime"
    for name, outcome in (("rmm-list-devices", listed), ("rmm-run-command", ran)):
        tool = hub.registry.resolve(name, tenancy.org_id)
        _conforms(tool.output_schema, outcome.result)
    with pytest.raises(TypeError, match="not CommandOut"):
        listed.result_as(CommandOut)


async def test_a_pending_outcome_has_no_value_and_the_approval_result_reads_back_typed(
    agent: SimAgent, invoke: Invoke, tenancy: Tenancy, hub: HubContext, db: Database
) -> None:
    await agent.checkin(inventory=sample_inventory("LON-DC-01"))
    pending = await invoke(tenancy.operator, "rmm-run-command", {"device": "LON-DC-01", "command": "whoami"})
    assert pending.status is InvocationStatus.PENDING_APPROVAL and pending.result_as(CommandOut) is None
    assert pending.approval_id is not None
    async with db.transaction() as session:
        approval = await approvals.get_approval(session, tenancy.org_id, pending.approval_id)
        assert executed_result(hub.registry, approval) is None
    gate = hub.components.get(Gate)
    async with hub.db.transaction() as session:
        approval = await approvals.approve(session, gate, approver=caller_of(tenancy.approver), approval_id=approval.id)
    command = executed_result(hub.registry, approval)
    assert isinstance(command, CommandOut)
    assert (command.body, command.approval_id, command.created_by) == ("whoami", approval.id, "olga")


class _Shape(BaseModel):
    name: str


class _NoArgs(BaseModel):
    pass


async def test_a_result_of_the_wrong_type_fails_the_run_clearly(
    hub: HubContext, tenancy: Tenancy, invoke: Invoke
) -> None:
    async def get_shape(ctx: ToolContext, args: _NoArgs) -> _Shape:
        """Get a shape (returns the wrong thing on purpose)."""
        return {"colour": "red"}  # type: ignore[return-value]

    hub.registry.register(
        model_tool(
            source="typedtest",
            name="get-shape",
            args_model=_NoArgs,
            handler=get_shape,
            min_role=Role.VIEWER,
            annotations=ToolAnnotations(read_only=True),
        )
    )
    outcome = await invoke(tenancy.viewer, "get-shape", {})
    assert outcome.status is InvocationStatus.FAILED and outcome.error_status == 500
    assert outcome.message.startswith("typedtest:get-shape returned a result that does not match its declared type")
    assert outcome.value is None and outcome.result is None


def test_model_tool_needs_a_result_type() -> None:
    async def get_it(ctx: ToolContext, args: _NoArgs):  # type: ignore[no-untyped-def]
        """Get it."""
        return 1

    with pytest.raises(ValueError, match="needs a result type"):
        model_tool(source="typedtest", name="get-it", args_model=_NoArgs, handler=get_it)
