"""The built-in offline model: a pydantic-ai model (a :class:`FunctionModel`) that plans tool calls itself.

Each model request re-reads the conversation: the current request, the tool results of this run,
the devices and actions of earlier turns. It decides one step at a time on what the last tool
returned (never runs later steps blindly), asks back when a request is ambiguous, and says what it
cannot do. Text inside tool results is only ever matched as data (a device name, a number), never
followed as an instruction; and it only calls tools the toolset offered (policy already applied).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.tools import ToolDefinition

from hub.assistant.builtin.resolve import best_script, params_from_text, resolve_device
from hub.assistant.retrieval import SCRIPT_TOOL

_TICKET = re.compile(r"(?:ticket|case)\s*#?\s*(\d+)|#(\d+)", re.I)
_THRESHOLD = re.compile(r"if\s+(cpu|memory|mem|disk)\s+(?:usage\s+)?(?:is\s+)?(?:above|over|>)\s*(\d+)", re.I)
_METRIC = {"cpu": "cpu_percent", "memory": "memory_percent", "mem": "memory_percent", "disk": "disk_percent"}
CAPABILITIES = (
    "check a device's health, patches or details, install patches, run a script from the library on a device, "
    "look up or comment on tickets, and list devices, alerts and tickets"
)


@dataclass
class Turn:
    """What the model knows at one request."""

    request: str
    tools: dict[str, ToolDefinition]
    done: list[tuple[str, dict[str, Any], Any]] = field(default_factory=list)
    earlier_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def result_of(self, name: str) -> Any:
        for tool, _, content in reversed(self.done):
            if tool == name:
                return content
        return None

    def called(self, name: str) -> bool:
        return any(tool == name for tool, _, _ in self.done)


def _turn(messages: list[ModelMessage], info: AgentInfo) -> Turn:
    start = 0
    request = ""
    for i, message in enumerate(messages):
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    start, request = i, part.content
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    turn = Turn(request=request, tools={t.name: t for t in info.function_tools})
    for i, message in enumerate(messages):
        parts: list[Any] = list(message.parts)
        for part in parts:
            if isinstance(part, ToolCallPart):
                calls[part.tool_call_id] = (part.tool_name, part.args_as_dict())
                if i < start:
                    turn.earlier_calls.append((part.tool_name, part.args_as_dict()))
            elif isinstance(part, ToolReturnPart) and i > start and part.tool_call_id in calls:
                name, args = calls[part.tool_call_id]
                turn.done.append(
                    (
                        name,
                        args,
                        part.content
                        if part.outcome == "success"
                        else {"status": part.outcome, "message": part.content},
                    )
                )
    return turn


def _call(name: str, args: dict[str, Any], n: int) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(name, args, tool_call_id=f"builtin-{n}-{name}")])


def _say(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(text)])


def _label(device: dict[str, Any]) -> str:
    return str(device.get("hostname") or device.get("display_name") or device.get("id"))


def _short(content: Any) -> str:
    if isinstance(content, dict) and "status" in content and "message" in content:
        return f"{content['status']}: {content['message']}"
    text = json.dumps(content, default=str)
    return text if len(text) <= 600 else text[:600] + "..."


class Planner:
    """Decides the next step of one request."""

    def __init__(self, turn: Turn) -> None:
        self.t = turn
        self.text = turn.request.lower()
        ticket = _TICKET.search(turn.request)
        self.ticket = int(ticket.group(1) or ticket.group(2)) if ticket else None

    def has(self, name: str) -> bool:
        return name in self.t.tools

    def action(self) -> tuple[str | None, str]:
        """The tool this request wants run on a device, and a description of it."""
        t = self.text
        if "uninstall" in t and "agent" in t:
            return "rmm-uninstall-agent", "uninstall the agent"
        if re.search(r"\b(install|apply)\b.*\bpatch|\bpatch (it|the|[a-z0-9-]+)\b", t) and "pending" not in t:
            return "rmm-install-patches", "install the pending patches"
        if "patch" in t or ("update" in t and "pending" in t):
            return "rmm-get-device-patches", "the patch status"
        scripts = [(n, d.description or "") for n, d in self.t.tools.items() if SCRIPT_TOOL.match(n)]
        if re.search(r"\b(run|execute|clean|cleanup|free|make some room|restart|script|clear|flush)\b", t):
            name = best_script(self.t.request, scripts)
            if name:
                return name, f"run {name}"
        if re.search(r"\b(health|healthy|cpu|memory|disk|load|state|slow)\b", t):
            return "rmm-get-device-state", "the live state"
        if re.search(r"\b(details|info|show|what is|os|ip)\b", t):
            return "rmm-get-device", "the details"
        return None, ""

    def next(self, n: int) -> ModelResponse:
        t = self.t
        if self.ticket and "comment" not in self.text and "note" not in self.text and not self.action()[0]:
            if t.called("rmm-get-ticket"):
                return _say(f"Ticket #{self.ticket}: {_short(t.result_of('rmm-get-ticket'))}")
            return (
                _call("rmm-get-ticket", {"ticket_id": self.ticket}, n)
                if self.has("rmm-get-ticket")
                else self.cannot("read tickets")
            )
        if re.search(r"\b(list|show|which)\b.*\balerts?\b", self.text) and self.has("rmm-list-alerts"):
            if t.called("rmm-list-alerts"):
                return _say(f"Alerts: {_short(t.result_of('rmm-list-alerts'))}")
            return _call("rmm-list-alerts", {}, n)
        if re.search(r"\b(list|show)\b.*\btickets\b", self.text) and self.has("rmm-list-tickets"):
            if t.called("rmm-list-tickets"):
                return _say(f"Tickets: {_short(t.result_of('rmm-list-tickets'))}")
            return _call("rmm-list-tickets", {}, n)
        tool, what = self.action()
        same = re.search(r"\bsame\b|\bagain\b", self.text)
        if tool is None and same and t.earlier_calls:
            previous = [
                c for c in t.earlier_calls if c[0] not in ("rmm-list-devices", "rmm-get-ticket", "rmm-comment-ticket")
            ]
            if previous:
                tool, what = previous[-1][0], f"the same ({previous[-1][0]})"
        if tool is None:
            return _say(f"I am not sure what you want me to do. I can {CAPABILITIES}. Name a device and what to do.")
        if not self.has(tool):
            return self.cannot(what)
        if not t.called("rmm-list-devices"):
            if not self.has("rmm-list-devices"):
                return self.cannot("look devices up")
            return _call("rmm-list-devices", {"limit": 500}, n)
        listing = t.result_of("rmm-list-devices")
        devices = listing.get("devices", []) if isinstance(listing, dict) else []
        exclude: set[int] = set()
        if "other" in self.text:
            exclude = {int(a["device"]) for _, a in t.earlier_calls if isinstance(a.get("device"), int)}
        match = resolve_device(t.request, devices, exclude=exclude)
        if match.device is None and "other" in self.text and match.candidates:
            match = type(match)(match.candidates[0], match.candidates, "other")
        if match.device is None and same and t.earlier_calls:
            previous_device = [a.get("device") for _, a in t.earlier_calls if isinstance(a.get("device"), int)]
            if previous_device and "other" not in self.text:
                found = [d for d in devices if d.get("id") == previous_device[-1]]
                if found:
                    match = type(match)(found[0], found, "earlier")
        if match.device is None:
            if match.candidates:
                names = ", ".join(_label(d) for d in match.candidates[:5])
                return _say(f"Which device do you mean: {names}? Tell me the name and I will go on.")
            return _say("I could not find that device. Which one do you mean (its name, its user or its site)?")
        device = match.device
        return self.on_device(tool, device, n)

    def on_device(self, tool: str, device: dict[str, Any], n: int) -> ModelResponse:
        t = self.t
        condition = _THRESHOLD.search(t.request)
        if condition and tool != "rmm-get-device-state" and self.has("rmm-get-device-state"):
            if not t.called("rmm-get-device-state"):
                return _call("rmm-get-device-state", {"device": device["id"]}, n)
            state = t.result_of("rmm-get-device-state")
            metric = _METRIC[condition.group(1).lower()]
            value = _metric(state, metric)
            limit = float(condition.group(2))
            if value is None:
                return _say(f"I could not read {metric} of {_label(device)}, so I did not {tool}.")
            if value <= limit:
                return _say(f"{_label(device)}: {metric} is {value:.0f} %, not above {limit:.0f} %, so I did nothing.")
        if not t.called(tool):
            args: dict[str, Any] = {"device": device["id"]}
            if SCRIPT_TOOL.match(tool):
                params, missing = params_from_text(t.request, t.tools[tool].parameters_json_schema)
                if missing:
                    return _say(f"{tool} needs {', '.join(missing)}; what should I use?")
                args = {**params, "device_ids": [device["id"]]}
            return _call(tool, args, n)
        result = t.result_of(tool)
        summary = f"{tool} on {_label(device)}: {_short(result)}"
        wants_note = self.ticket and (re.search(r"\b(note|comment|ticket)\b", self.text))
        if wants_note and self.has("rmm-comment-ticket") and not t.called("rmm-comment-ticket"):
            body = f"Assistant: {tool} on {_label(device)} -> {_short(result)}"
            return _call("rmm-comment-ticket", {"ticket_id": self.ticket, "body": body[:2000]}, n)
        if t.called("rmm-comment-ticket"):
            summary += f". Noted on ticket #{self.ticket}."
        return _say(summary)

    def cannot(self, what: str) -> ModelResponse:
        return _say(f"I can't {what}: that tool is not available to you (policy or role). I can {CAPABILITIES}.")


def _metric(state: Any, key: str) -> float | None:
    if isinstance(state, dict):
        for holder in (state, state.get("current") or {}, state.get("device") or {}):
            if isinstance(holder, dict) and isinstance(holder.get(key), int | float):
                return float(holder[key])
    return None


def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """The built-in model's answer to one model request."""
    turn = _turn(messages, info)
    if not turn.request.strip():
        return _say(f"Hello. I can {CAPABILITIES}.")
    return Planner(turn).next(len(messages))


class BuiltinModel(FunctionModel):
    """The deterministic offline model, used when no LLM is configured."""

    def __init__(self) -> None:
        super().__init__(respond, model_name="rmmhub-builtin")
