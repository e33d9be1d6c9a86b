"""The assistant under test: the real hub, gate and registry; the model is a FunctionModel (no real LLM)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic_ai import models
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo, FunctionModel

from hub.assistant.builtin.streaming import streamed
from hub.assistant.provider import ActiveModel
from hub.assistant.service import Assistant, assistant_caller
from hub.core.caller import Caller
from hub.core.context import HubContext
from hub.core.models import User

models.ALLOW_MODEL_REQUESTS = False

Script = Callable[[list[ModelMessage], AgentInfo], ModelResponse]


def use_model(hub: HubContext, fn: Script) -> Assistant:
    """Swap the hub's assistant model for the scripted ``fn`` (the same agent loop, toolsets and gate)."""
    assistant = hub.components.get(Assistant)
    model = FunctionModel(fn, stream_function=streamed(fn))
    fresh = Assistant(hub, assistant.gate, model=ActiveModel(model, "scripted", False))
    assistant.agent, assistant.active = fresh.agent, fresh.active
    return assistant


async def caller_of(hub: HubContext, user_id: int) -> Caller:
    async with hub.db.transaction() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return assistant_caller(user)


def tool_returns(messages: list[ModelMessage]) -> list[Any]:
    """Every tool-return part in the history (what the model was told)."""
    return [p for m in messages for p in m.parts if getattr(p, "part_kind", "") == "tool-return"]


@pytest.fixture(autouse=True)
def _no_real_models() -> None:
    models.ALLOW_MODEL_REQUESTS = False


from tests.policies.conftest import DemoTools, demo_tools  # noqa: E402  (the pipeline tests' tool source)

__all__ = ["DemoTools", "demo_tools"]
