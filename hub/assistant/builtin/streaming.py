"""Streaming for scripted models: a response given whole, streamed the way a model streams it."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator

from pydantic_ai.messages import ModelMessage, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionDef, StreamFunctionDef

#: Roughly how many characters a streamed piece of text carries.
STREAM_CHUNK = 12


def streamed(answer: FunctionDef) -> StreamFunctionDef:
    """A stream function giving ``answer``'s response as it would stream: text a few words at a time, a tool
    call whole (so a scripted model serves streamed runs, such as a resume, too)."""

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
        response = answer(messages, info)
        if inspect.isawaitable(response):
            response = await response
        for part in response.parts:
            if isinstance(part, TextPart):
                chunk = ""
                for word in part.content.split(" "):
                    chunk += word + " "
                    if len(chunk) >= STREAM_CHUNK:
                        yield chunk
                        chunk = ""
                if chunk.strip():
                    yield chunk.rstrip(" ")
            elif isinstance(part, ToolCallPart):
                yield {
                    0: DeltaToolCall(
                        name=part.tool_name, json_args=part.args_as_json_str(), tool_call_id=part.tool_call_id
                    )
                }

    return stream
