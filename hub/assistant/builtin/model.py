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
from pydantic_ai.models.function import (
    AgentInfo,
    FunctionModel,
)
from pydantic_ai.tools import ToolDefinition

from hub.assistant.builtin.connectwise import (
    CW_EQUIVALENT,
    CW_LIST,
    CW_NOTE,
    CW_SCRIPT,
    CW_STATE,
    NATIVE_EQUIVALENT,
    cw_devices,
    is_cw,
    params_schema,
)
from hub.assistant.builtin.resolve import params_from_text, rank_scripts, resolve_device
from hub.assistant.builtin.streaming import streamed
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


SCRIPT = "script"
_TAGGED = re.compile(r"\b(?:tagged|with (?:the )?tag|tag)\s+['\"]?([a-z0-9][a-z0-9_.:-]*)", re.I)
_USERS = re.compile(r"\b(logged (in|on)|signed in|who is (using|on)|who uses)\b")
_PRONOUN = re.compile(r"\b(it|its|that one|this one|that device|this device|that machine|there|same device)\b")
_LOOKUPS = (
    "rmm-list-devices",
    "rmm-get-ticket",
    "rmm-comment-ticket",
    "rmm-list-alerts",
    "rmm-list-tickets",
    CW_LIST,
    CW_NOTE,
)


def _device_of(args: dict[str, Any]) -> int | str | None:
    """The device a call acted on: a native id (``device``/``device_ids``) or a ConnectWise endpoint id."""
    if isinstance(args.get("device"), int):
        return int(args["device"])
    if isinstance(args.get("endpoint_id"), str):
        return str(args["endpoint_id"])
    for key in ("device_ids", "endpoint_ids"):
        ids = args.get(key)
        if isinstance(ids, list) and ids and isinstance(ids[0], int | str):
            return ids[0]
    return None


def _os_word(device: dict[str, Any]) -> str:
    os_name = str(device.get("os") or "").lower()
    if "windows" in os_name:
        return "windows"
    if "mac" in os_name:
        return "macos"
    return "linux"


class Planner:
    """Decides the next step of one request."""

    def __init__(self, turn: Turn) -> None:
        self.t = turn
        self.text = turn.request.lower()
        ticket = _TICKET.search(turn.request)
        self.ticket = int(ticket.group(1) or ticket.group(2)) if ticket else None
        self.earlier_devices = [d for d in (_device_of(a) for _, a in turn.earlier_calls) if d is not None]

    def has(self, name: str) -> bool:
        return name in self.t.tools

    def action(self) -> tuple[str | None, str]:
        """The tool this request wants run on a device (or :data:`SCRIPT`), and a description of it."""
        t = self.text
        if "uninstall" in t or "remove the agent" in t:
            return "rmm-uninstall-agent", "uninstall the agent"
        if re.search(r"\b(wipe|erase|format)\b", t):
            return "rmm-wipe-device", "wipe a device"
        if re.search(r"\b(install|apply)\b.*\b(patch|patches|updates)\b|\bpatch (it|the|[a-z0-9-]+)\b", t):
            return "rmm-install-patches", "install the pending patches"
        if re.search(r"\bpatch(es)?\b|\bpending updates\b|\bmissing updates\b", t):
            return "rmm-get-device-patches", "the patch status"
        if re.search(
            r"\b(run|execute|clean|cleanup|free up|make (some )?room|restart|script|clear|flush|top processes)\b", t
        ):
            return SCRIPT, "run a script"
        if _USERS.search(t):
            return "rmm-get-device", "who is logged in"
        if re.search(r"\b(apps|applications|installed software|programs)\b", t):
            return "rmm-list-device-apps", "the installed applications"
        if re.search(r"\b(health|healthy|check|cpu|memory|ram|disk|load|state|slow|how is|status|doing)\b", t):
            return "rmm-get-device-state", "the live state"
        if re.search(r"\b(details|info|show|what is|which os|ip address|hardware)\b", t):
            return "rmm-get-device", "the details"
        return None, ""

    def next(self, n: int) -> ModelResponse:
        t = self.t
        tool, what = self.action()
        vague = tool in (None, "rmm-get-device")  # "show ..." / "what is ...": a list or a ticket may be meant
        if self.ticket and vague and not re.search(r"\b(note|comment)\b", self.text):
            if t.called("rmm-get-ticket"):
                return _say(_ticket_text(t.result_of("rmm-get-ticket"), self.ticket))
            if not self.has("rmm-get-ticket"):
                return self.cannot("read tickets")
            return _call("rmm-get-ticket", {"ticket_id": self.ticket}, n)
        for noun, name in (
            ("alerts?", "rmm-list-alerts"),
            ("tickets", "rmm-list-tickets"),
            ("customers", "rmm-list-customers"),
        ):
            if vague and re.search(rf"\b(list|show|which|any|what)\b.*\b{noun}\b", self.text):
                if t.called(name):
                    return _say(f"{name}: {_short(t.result_of(name))}")
                return _call(name, {}, n) if self.has(name) else self.cannot(f"list {noun.rstrip('s?')}s")
        listing_words = re.search(r"\b(list|show|which|all)\b.*\b(devices|machines|servers|computers)\b", self.text)
        if listing_words and (tool is None or (vague and _TAGGED.search(self.text))):
            return self.list_devices(n)
        same = re.search(r"\b(same|again)\b", self.text)
        if tool is None and same:
            previous = [c for c in t.earlier_calls if c[0] not in _LOOKUPS]
            if previous:
                previous_tool = previous[-1][0]
                tool, what = NATIVE_EQUIVALENT.get(previous_tool, previous_tool), f"the same ({previous_tool})"
        if tool is None:
            return _say(f"I am not sure what you want me to do. I can {CAPABILITIES}. Name a device and what to do.")
        if tool != SCRIPT and not self.has(tool):
            return self.cannot(what)
        if not t.called("rmm-list-devices"):
            if not self.has("rmm-list-devices"):
                return self.cannot("look devices up")
            return _call("rmm-list-devices", {"limit": 500}, n)
        listing = t.result_of("rmm-list-devices")
        if not isinstance(listing, dict) or "devices" not in listing:
            return _say(f"I could not list the devices ({_short(listing)}), so I did nothing.")
        devices: list[dict[str, Any]] = listing["devices"]
        if self.has(CW_LIST):
            if not t.called(CW_LIST):
                native = resolve_device(t.request, devices)
                if native.device is None or native.why != "name":  # a ConnectWise endpoint may be meant
                    return _call(CW_LIST, {"limit": 500}, n)
            else:
                devices = [*devices, *cw_devices(t.result_of(CW_LIST))]
        by_id = {d.get("id"): d for d in devices}
        device = None
        if "other" in self.text and self.earlier_devices:
            last = self.earlier_devices[-1]
            others = [d for d in reversed(self.earlier_devices) if d != last and d in by_id]
            device = by_id[others[0]] if others else None
            if device is None:
                return _say("Which other device do you mean? Tell me its name.")
        else:
            match = resolve_device(t.request, devices)
            if (
                match.device is None
                and match.why != "name"
                and self.earlier_devices
                and (_PRONOUN.search(self.text) or same)
            ):
                device = by_id.get(self.earlier_devices[-1])
            elif match.device is None:
                if match.candidates:
                    names = ", ".join(_label(d) for d in match.candidates[:5])
                    return _say(f"Which device do you mean: {names}? Tell me the name and I will go on.")
                return _say("I could not find that device. Which one do you mean (its name, its user or its site)?")
            else:
                device = match.device
        if device is None:
            return _say("I could not tell which device you mean. Which one (its name, its user or its site)?")
        if tool == SCRIPT:
            tool = self.pick_script(device)
            if tool is None:
                return _say(f"I found no script in the library for that on {_label(device)}. I can {CAPABILITIES}.")
        elif is_cw(device) and not tool.startswith("cw-"):
            cw_tool = CW_STATE if _USERS.search(self.text) else CW_EQUIVALENT.get(tool)
            if cw_tool is None or not self.has(cw_tool):
                return _say(
                    f"{_label(device)} is a ConnectWise RMM endpoint, and I have no ConnectWise tool for {what} "
                    "there. I can check its state, details and patches, or run a ConnectWise script on it."
                )
            tool = cw_tool
        return self.on_device(tool, device, n)

    def pick_script(self, device: dict[str, Any]) -> str | None:
        """The best script for the request that runs on the device's OS, preferring one whose parameters the text gives."""
        os_word = _os_word(device)
        cw = is_cw(device)
        scripts = [
            (name, d.description or "")
            for name, d in self.t.tools.items()
            if SCRIPT_TOOL.match(name) and name.startswith(CW_SCRIPT) == cw and _runs_on(d.description or "", os_word)
        ]
        ranked = rank_scripts(self.t.request, scripts)
        for name in ranked:
            if not params_from_text(self.t.request, params_schema(self.t.tools[name]))[1]:
                return name
        return ranked[0] if ranked else None

    def list_devices(self, n: int) -> ModelResponse:
        if not self.has("rmm-list-devices"):
            return self.cannot("list devices")
        if not self.t.called("rmm-list-devices"):
            tag = _TAGGED.search(self.t.request)
            return _call("rmm-list-devices", {"tag": tag.group(1).lower(), "limit": 500} if tag else {"limit": 500}, n)
        listing = self.t.result_of("rmm-list-devices")
        devices = listing.get("devices", []) if isinstance(listing, dict) else []
        tag = _TAGGED.search(self.t.request)
        if tag:
            names = ", ".join(f"{_label(d)} ({d.get('status')})" for d in devices)
            return _say(f"{len(devices)} devices tagged {tag.group(1).lower()}: {names or 'none'}")
        words = set(re.findall(r"[a-z]+", self.text))
        chosen = [d for d in devices if {str(d.get("customer", "")).lower(), str(d.get("site", "")).lower()} & words]
        shown = chosen or devices
        return _say(f"{len(shown)} devices: " + ", ".join(f"{_label(d)} ({d.get('status')})" for d in shown))

    def on_device(self, tool: str, device: dict[str, Any], n: int) -> ModelResponse:
        t = self.t
        condition = _THRESHOLD.search(t.request)
        if condition:
            metric = _METRIC[condition.group(1).lower()]
            value = _metric(device, metric)
            if value is None and is_cw(device) and self.has(CW_STATE):  # a ConnectWise row has no metrics
                if not t.called(CW_STATE):
                    return _call(CW_STATE, {"endpoint_id": device["id"]}, n)
                value = _metric(t.result_of(CW_STATE), metric)
            limit = float(condition.group(2))
            if value is None:
                return _say(f"I could not read {metric} of {_label(device)}, so I did not run {tool}.")
            if value <= limit:
                return _say(f"{_label(device)}: {metric} is {value:.0f} %, not above {limit:.0f} %, so I did nothing.")
        if not t.called(tool):
            args: dict[str, Any] = {"device": device["id"]}
            if SCRIPT_TOOL.match(tool):
                params, missing = params_from_text(t.request, params_schema(t.tools[tool]))
                if missing:
                    return _say(f"{tool} needs {', '.join(missing)}; what should I use?")
                if tool.startswith(CW_SCRIPT):
                    args = {"parameters": params, "endpoint_ids": [device["id"]]}
                else:
                    args = {**params, "device_ids": [device["id"]]}
            elif is_cw(device):
                args = {"endpoint_id": device["id"]}
                if tool == "cw-rmm-get-device":
                    args.update({k: device[k] for k in ("company_id", "site_id") if device.get(k)})
            return _call(tool, args, n)
        result = t.result_of(tool)
        summary = _summary(tool, device, result)
        if tool == "rmm-get-device" and _USERS.search(self.text) and isinstance(result, dict):
            now = ", ".join(str(u) for u in result.get("logged_in_users") or []) or "nobody"
            last = result.get("last_user") or "unknown"
            summary = f"Logged in on {_label(device)} now: {now} (last to log in: {last})."
        note_tool = self.note_tool(device)
        wants_note = self.ticket and re.search(r"\b(note|comment|ticket)\b", self.text)
        if wants_note and self.has(note_tool) and not t.called(note_tool):
            body = f"Helpdesk assistant (for {self.t.request[:200]!r}): {summary}"
            if note_tool == CW_NOTE:
                return _call(CW_NOTE, {"ticket": str(self.ticket), "detail": body[:12000]}, n)
            return _call("rmm-comment-ticket", {"ticket_id": self.ticket, "body": body[:2000]}, n)
        if t.called(note_tool):
            noted = t.result_of(note_tool)
            ok = not (isinstance(noted, dict) and noted.get("status") in ("refused", "failed"))
            summary += f" Noted on ticket #{self.ticket}." if ok else f" Could not note it on ticket #{self.ticket}."
        return _say(summary)

    def note_tool(self, device: dict[str, Any]) -> str:
        """Where the paper trail goes: the ConnectWise ticket for a ConnectWise endpoint (or when the request
        says so) when its note tool is offered, else the native ticket."""
        cw_ticket = is_cw(device) or re.search(r"\b(cw|connectwise)\b", self.text)
        return CW_NOTE if cw_ticket and self.has(CW_NOTE) else "rmm-comment-ticket"

    def cannot(self, what: str) -> ModelResponse:
        return _say(f"I can't {what}: that tool is not available to you (policy or role). I can {CAPABILITIES}.")


_OS_LABELS = {"windows": "(windows,", "linux": "(linux,", "macos": "(macos,"}


def _runs_on(description: str, os_word: str) -> bool:
    """Whether a script tool (by its description's OS label) runs on ``os_word``; unlabelled ones do."""
    text = description.lower()
    labelled = [os for os, label in _OS_LABELS.items() if label in text]
    return not labelled or os_word in labelled


def _summary(tool: str, device: dict[str, Any], result: Any) -> str:
    name = _label(device)
    if isinstance(result, dict) and result.get("status") in ("refused", "failed", "denied", "retried"):
        return f"{tool} on {name} did not run: {result.get('message')}"
    if tool in ("rmm-get-device-state", CW_STATE):
        parts = [
            f"{k} {v:.0f} %"
            for k in ("cpu_percent", "memory_percent", "disk_percent")
            if (v := _metric(result, k) if _metric(result, k) is not None else _metric(device, k)) is not None
        ]
        users = result.get("logged_on_users") if isinstance(result, dict) else None
        who = f" Logged on: {', '.join(users)}." if users else ""
        status = "a ConnectWise RMM endpoint" if is_cw(device) else device.get("status")
        return (
            f"{name} is {status}: "
            + (", ".join(p.replace("_percent", "") for p in parts) or "no recent metrics")
            + "."
            + who
        )
    return f"{tool} on {name}: {_short(result)}"


def _ticket_text(result: Any, number: int) -> str:
    if isinstance(result, dict) and "title" in result:
        return f"Ticket #{number} '{result['title']}' ({result.get('status')}): {_short(result.get('description', ''))}"
    return f"Ticket #{number}: {_short(result)}"


def _metric(state: Any, key: str) -> float | None:
    """A metric (``cpu_percent``...) from a device row or a state result, native or ConnectWise."""
    if isinstance(state, dict):
        for holder in (state, state.get("current") or {}, state.get("device") or {}):
            if isinstance(holder, dict) and isinstance(holder.get(key), int | float):
                return float(holder[key])
        if key == "memory_percent" and isinstance(state.get("memory_percent_used"), int | float):
            return float(state["memory_percent_used"])  # ConnectWise's state summary
        if key == "disk_percent" and isinstance(state.get("disks"), list):
            used = [d["percent_used"] for d in state["disks"] if isinstance(d.get("percent_used"), int | float)]
            return float(max(used)) if used else None
    return None


def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """The built-in model's answer to one model request."""
    turn = _turn(messages, info)
    if not turn.request.strip():
        return _say(f"Hello. I can {CAPABILITIES}.")
    return Planner(turn).next(len(messages))


#: The same answer as :func:`respond`, streamed.
stream = streamed(respond)


class BuiltinModel(FunctionModel):
    """The deterministic offline model, used when no LLM is configured (it streams too)."""

    def __init__(self) -> None:
        super().__init__(respond, stream_function=stream, model_name="rmmhub-builtin")
