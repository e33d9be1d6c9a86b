"""Entity resolution of the built-in model: devices by fuzzy name, user, description, customer or site;
scripts by name or purpose (BM25); parameters from the request text.

Devices come from the device list tool's result (read through the gate like any other call), so the
same fields the hub publishes are the ones matched; fields another release adds (assigned user,
logged-in users, description, tags) are used when present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rank_bm25 import BM25Plus
from rapidfuzz import fuzz

from hub.assistant.retrieval import purpose_words, words

_ALNUM = re.compile(r"[^a-z0-9]")
_POSSESSIVE = re.compile(r"\b([A-Za-z][a-z]+)'s\b")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]")
NAME_THRESHOLD = 80
#: A second candidate this close to the best makes the request ambiguous.
AMBIGUITY_MARGIN = 4
_PEOPLE_FIELDS = (
    "assigned_user_name",
    "assigned_user_email",
    "assigned_user",
    "logged_in_users",
    "last_user",
    "display_name",
)
_TEXT_FIELDS = ("description", "role", "tags", "customer", "site", "display_name")


def norm(text: str) -> str:
    """Lower-case letters and digits only: ``LDN-FS-02`` and ``ldn fs 02`` are both ``ldnfs02``."""
    return _ALNUM.sub("", text.lower())


def _collapse_zeros(text: str) -> str:
    return re.sub(r"0+(\d)", r"\1", text)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return " ".join(_text(v) for v in value.values())
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Match:
    """A resolved device, or the candidates to ask the user about."""

    device: dict[str, Any] | None
    candidates: list[dict[str, Any]]
    why: str = ""


def _name_score(token: str, device: dict[str, Any]) -> float:
    wanted = _collapse_zeros(norm(token))
    best = 0.0
    for field in ("hostname", "display_name"):
        have = _collapse_zeros(norm(str(device.get(field) or "")))
        if have and wanted:
            best = max(best, fuzz.ratio(wanted, have))
    return best


def resolve_device(request: str, devices: list[dict[str, Any]], *, exclude: set[int] | None = None) -> Match:
    """The device ``request`` means: by name (typos, missing dashes, case), by person, or by description."""
    pool = [d for d in devices if d.get("id") not in (exclude or set())]
    if not pool:
        return Match(None, [])
    scored: list[tuple[float, dict[str, Any]]] = []
    for device in pool:
        best = max((_name_score(tok, device) for tok in _TOKEN.findall(request) if len(tok) >= 3), default=0.0)
        scored.append((best, device))
    scored.sort(key=lambda pair: -pair[0])
    if scored[0][0] >= NAME_THRESHOLD:
        close = [d for s, d in scored if s >= scored[0][0] - AMBIGUITY_MARGIN]
        if len(close) == 1 or norm(str(close[0].get("hostname"))) in norm(request):
            return Match(close[0], close, "name")
        return Match(None, close, "name")
    people = [p.lower() for p in _POSSESSIVE.findall(request)]
    if people:
        owned = [d for d in pool if any(p in _text(d.get(f)).lower() for f in _PEOPLE_FIELDS for p in people)]
        if len(owned) == 1:
            return Match(owned[0], owned, "user")
        if owned:
            return Match(None, owned, "user")
    query = [w for w in words(request) if not w.isdigit()]
    if query:
        docs = [words(" ".join(_text(d.get(f)) for f in (*_TEXT_FIELDS, "hostname", "os"))) or ["_"] for d in pool]
        scores = BM25Plus(docs).get_scores(query)
        ranked = sorted(range(len(pool)), key=lambda i: -scores[i])
        if scores[ranked[0]] > 0:
            top = [pool[i] for i in ranked if scores[i] >= scores[ranked[0]] * 0.95]
            return Match(top[0] if len(top) == 1 else None, top[:5], "description")
    return Match(None, [])


#: Words every script tool's description carries: they tell nothing about which script is meant.
_SCRIPT_NOISE = frozenset(
    [
        "run",
        "script",
        "devices",
        "device",
        "parameters",
        "reach",
        "environment",
        "variables",
        "rmm",
        "param",
        "name",
        "one",
        "more",
    ]
)


def rank_scripts(request: str, tools: list[tuple[str, str]]) -> list[str]:
    """The script tools (``(name, description)`` pairs) that fit the request, best first by BM25.

    Only tools sharing a word with the request qualify (BM25's idf turns negative for words most of a
    small set share, so a score alone cannot say "nothing fits").
    """
    query = [w for w in purpose_words(request) if w not in _SCRIPT_NOISE]
    if not tools or not query:
        return []
    docs = [
        [w for w in words(name.replace("-", " ")) * 2 + words(desc) if w not in _SCRIPT_NOISE] or ["_"]
        for name, desc in tools
    ]
    scores = BM25Plus(docs).get_scores(query)
    wanted = set(query)
    fitting = [i for i, doc in enumerate(docs) if wanted & set(doc) - {"linux", "windows", "macos"}]
    fitting.sort(key=lambda i: (-scores[i], -len(wanted & set(docs[i]))))
    return [tools[i][0] for i in fitting]


_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(%|percent|gb|gib|mb|days?|hours?|minutes?|seconds?)?", re.I)


def params_from_text(request: str, schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Arguments for a script's parameters found in the text, and the required ones that are missing."""
    props: dict[str, Any] = schema.get("properties", {})
    found: dict[str, Any] = {}
    numbers = [(float(m.group(1)), (m.group(2) or "").lower(), m.start()) for m in _NUMBER.finditer(request)]
    for name, spec in props.items():
        if name == "device_ids":
            continue
        kind = spec.get("type")
        hint = set(words(name.replace("_", " ")))
        if kind in ("integer", "number") and numbers:
            unit_match = [
                n for n in numbers if n[1] and ({n[1], n[1].rstrip("s"), n[1].rstrip("s") + "s", n[1][:2]} & hint)
            ]
            if unit_match:
                value = unit_match[0][0]
                found[name] = int(value) if kind == "integer" else value
        elif kind == "string" and "enum" in spec:
            for option in spec["enum"]:
                if str(option).lower() in request.lower():
                    found[name] = option
        elif kind == "string":
            label = "|".join(re.escape(h) for h in hint) or re.escape(name)
            m = re.search(rf"(?:{label})\s+(?:named\s+|called\s+)?['\"]?([A-Za-z0-9_.:-]+)", request, re.I)
            if m:
                found[name] = m.group(1)
        elif kind == "boolean" and any(h in request.lower() for h in hint):
            found[name] = True
    missing = [r for r in schema.get("required", []) if r not in found and r != "device_ids"]
    return found, missing
