"""The schedule and alert-rule forms: form fields -> the tools' arguments, and a stored schedule or rule
-> the form's values (for editing). Nothing here runs anything; the pages hand the arguments to the gate,
whose schema check has the last word. Parse errors raise :class:`ToolArgumentError` naming the field."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.datastructures import FormData

from hub.core.errors import ToolArgumentError
from native_rmm.automation.schedule_schemas import ScheduleOut
from native_rmm.automation.schemas import RuleOut
from native_rmm.models.scripts import Script
from ui.pages.rmm_scripts import param_fields

CREATE_SCHEDULE = "native_rmm:rmm-create-schedule"
CREATE_RULE = "native_rmm:rmm-create-alert-rule"
#: How many ordered action slots the rule form offers (a rule takes at most 10; the form shows the first few).
ACTION_SLOTS = 4
ACTION_KINDS = ("ticket", "connectwise_ticket", "notify", "script")


def _text(form: FormData, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def _ints(tool: str, path: str, raw: Sequence[Any]) -> list[int]:
    out: list[int] = []
    for item in raw:
        for part in str(item).replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise ToolArgumentError(tool, path, f"{part!r} is not an id (a whole number)")
            out.append(int(part))
    return out


def _int(tool: str, path: str, raw: str, default: int) -> int:
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ToolArgumentError(tool, path, f"{raw!r} is not a whole number") from exc


def _pairs(tool: str, path: str, raw: str) -> dict[str, str]:
    """``name=value`` lines (blank lines ignored)."""
    out: dict[str, str] = {}
    for line in raw.splitlines():
        line = line.strip()
        if not line:
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ToolArgumentError(tool, path, f"{line!r} is not name=value")
        out[name.strip()] = value.strip()
    return out


def typed_params(tool: str, path: str, script: Script | None, pairs: dict[str, str]) -> dict[str, Any]:
    """Parameter values typed by the script's schema (strings where the script is unknown or untyped)."""
    kinds = {f["name"]: f["type"] for f in param_fields(script)} if script is not None else {}
    out: dict[str, Any] = {}
    for name, raw in pairs.items():
        kind = kinds.get(name, "string")
        try:
            if kind == "integer":
                out[name] = int(raw)
            elif kind == "number":
                out[name] = float(raw)
            elif kind == "boolean":
                if raw.lower() not in ("true", "false", "yes", "no", "1", "0"):
                    raise ValueError(raw)
                out[name] = raw.lower() in ("true", "yes", "1")
            else:
                out[name] = raw
        except ValueError as exc:
            raise ToolArgumentError(tool, f"{path}.{name}", f"{raw!r} is not a valid {kind}") from exc
    return out


def _local(tool: str, path: str, raw: str, zone: str) -> str | None:
    """A ``datetime-local`` value read in the schedule's time zone, as an ISO moment with its offset."""
    if not raw:
        return None
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ToolArgumentError(tool, "$.timezone", f"unknown time zone {zone!r}") from exc
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ToolArgumentError(tool, path, f"{raw!r} is not a date and time (YYYY-MM-DDTHH:MM)") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).isoformat()


def schedule_args(form: FormData, scripts: dict[str, Script]) -> dict[str, Any]:
    """The ``rmm-create-schedule`` arguments (also ``rmm-update-schedule``'s, without the id) from the form."""
    t = CREATE_SCHEDULE
    tool = _text(form, "tool")
    zone = _text(form, "timezone") or "UTC"
    args: dict[str, Any]
    if tool == "run-script":
        slug = _text(form, "script")
        params = typed_params(t, "$.args.params", scripts.get(slug), _pairs(t, "$.args.params", _text(form, "params")))
        args = {"script": slug, "params": params}
    elif tool == "run-command":
        args = {"command": _text(form, "command")}
        if _text(form, "shell"):
            args["shell"] = _text(form, "shell")
    elif tool == "install-patches":
        args = {"patch_ids": [p.strip() for p in _text(form, "patch_ids").split(",") if p.strip()]}
    else:
        args = {}
    kind = _text(form, "target_kind")
    target: dict[str, Any] = {"kind": kind}
    if kind in ("tag", "group"):
        target["name"] = _text(form, f"target_{kind}")
    elif kind in ("device", "site", "customer"):
        target["ids"] = _ints(t, "$.target.ids", form.getlist(f"target_{kind}"))
    trigger_kind = _text(form, "trigger_kind")
    trigger: dict[str, Any] = {"kind": trigger_kind}
    if trigger_kind == "once":
        trigger["at"] = _local(t, "$.trigger.at", _text(form, "at"), zone)
    elif trigger_kind == "cron":
        trigger["cron"] = _text(form, "cron")
    elif trigger_kind == "interval":
        trigger["seconds"] = _int(t, "$.trigger.seconds", _text(form, "interval_minutes"), 60) * 60
    data: dict[str, Any] = {
        "name": _text(form, "name"),
        "tool": tool,
        "args": args,
        "target": target,
        "trigger": trigger,
        "timezone": zone,
        "misfire": _text(form, "misfire") or "skip",
        "approval_mode": "standing" if form.get("standing") == "on" else "each_run",
        "standing_days": _int(t, "$.standing_days", _text(form, "standing_days"), 30),
    }
    end = _local(t, "$.end_at", _text(form, "end_at"), zone)
    if end is not None:
        data["end_at"] = end
    return data


def _local_value(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def schedule_values(s: ScheduleOut) -> dict[str, Any]:
    """A stored schedule as the form's values."""
    values: dict[str, Any] = {
        "name": s.name,
        "tool": s.tool,
        "script": s.args.get("script", ""),
        "params": "\n".join(f"{k}={v}" for k, v in (s.args.get("params") or {}).items()),
        "command": s.args.get("command", ""),
        "shell": s.args.get("shell") or "",
        "patch_ids": ", ".join(s.args.get("patch_ids") or []),
        "target_kind": s.target.kind,
        "target_ids": [str(i) for i in s.target.ids],
        "target_name": s.target.name or "",
        "trigger_kind": s.trigger.kind,
        "cron": getattr(s.trigger, "cron", ""),
        "interval_minutes": str(getattr(s.trigger, "seconds", 3600) // 60),
        "at": _local_value(getattr(s.trigger, "at", None), s.timezone),
        "timezone": s.timezone,
        "end_at": _local_value(s.end_at, s.timezone),
        "misfire": s.misfire,
        "standing": "on" if s.approval_mode == "standing" else "",
        "standing_days": "30",
    }
    return values


def rule_args(form: FormData, scripts: dict[str, Script]) -> dict[str, Any]:
    """The ``rmm-create-alert-rule`` arguments (also ``rmm-update-alert-rule``'s, without the id)."""
    t = CREATE_RULE
    match: dict[str, Any] = {
        "severities": form.getlist("severities"),
        "sources": form.getlist("sources"),
        "metrics": form.getlist("metrics"),
        "monitor_ids": _ints(t, "$.match.monitor_ids", form.getlist("monitor_ids")),
        "customer_ids": _ints(t, "$.match.customer_ids", form.getlist("customer_ids")),
        "site_ids": _ints(t, "$.match.site_ids", form.getlist("site_ids")),
        "tags": [x.strip() for x in _text(form, "tags").split(",") if x.strip()],
        "group_ids": _ints(t, "$.match.group_ids", form.getlist("group_ids")),
    }
    actions: list[dict[str, Any]] = []
    for slot in range(1, ACTION_SLOTS + 1):
        kind = _text(form, f"a{slot}.kind")
        path = f"$.actions[{len(actions)}]"
        if not kind:
            continue
        action: dict[str, Any] = {"kind": kind}
        if kind == "ticket":
            action["priority"] = _text(form, f"a{slot}.priority") or "normal"
        elif kind == "connectwise_ticket":
            action["service_board_id"] = _text(form, f"a{slot}.service_board_id")
            action["source_id"] = _text(form, f"a{slot}.source_id")
            companies = _pairs(t, f"{path}.companies", _text(form, f"a{slot}.companies"))
            for customer in companies:
                _ints(t, f"{path}.companies", [customer])
            action["companies"] = companies
        elif kind == "notify":
            ids = _ints(t, f"{path}.channel_id", [_text(form, f"a{slot}.channel_id")])
            action["channel_id"] = ids[0] if ids else None
        elif kind == "script":
            slug = _text(form, f"a{slot}.script")
            pairs = _pairs(t, f"{path}.params", _text(form, f"a{slot}.params"))
            action["script"] = slug
            action["params"] = typed_params(t, f"{path}.params", scripts.get(slug), pairs)
            action["cooldown_minutes"] = _int(t, f"{path}.cooldown_minutes", _text(form, f"a{slot}.cooldown"), 15)
            action["max_attempts"] = _int(t, f"{path}.max_attempts", _text(form, f"a{slot}.max_attempts"), 3)
        actions.append(action)
    return {
        "name": _text(form, "name"),
        "enabled": form.get("enabled") == "on",
        "match": match,
        "actions": actions,
    }


def rule_values(r: RuleOut) -> dict[str, Any]:
    """A stored rule as the form's values (``a<N>.<field>`` for the N-th action)."""
    m = r.match
    values: dict[str, Any] = {
        "name": r.name,
        "enabled": "on" if r.enabled else "",
        "severities": [s.value for s in m.severities],
        "sources": [s.value for s in m.sources],
        "metrics": [x.value for x in m.metrics],
        "monitor_ids": [str(i) for i in m.monitor_ids],
        "customer_ids": [str(i) for i in m.customer_ids],
        "site_ids": [str(i) for i in m.site_ids],
        "tags": ", ".join(m.tags),
        "group_ids": [str(i) for i in m.group_ids],
    }
    for slot, action in enumerate(r.actions[:ACTION_SLOTS], start=1):
        dumped = action.model_dump(mode="json")
        values[f"a{slot}.kind"] = dumped["kind"]
        if dumped["kind"] == "connectwise_ticket":
            dumped["companies"] = "\n".join(f"{k}={v}" for k, v in dumped["companies"].items())
        if dumped["kind"] == "script":
            dumped["params"] = "\n".join(f"{k}={v}" for k, v in dumped["params"].items())
            dumped["cooldown"], dumped["max_attempts"] = dumped.pop("cooldown_minutes"), dumped["max_attempts"]
        for key, value in dumped.items():
            if key != "kind":
                values[f"a{slot}.{key}"] = str(value)
    return values
