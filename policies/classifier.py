"""The default-policy classifier: seeds a policy for each new tool, and says why.

Rules, first match wins (fail closed):

1. A destructive verb in the name (delete, wipe, uninstall, reset credentials, ...) or an explicit
   ``destructive=True`` annotation -> ``never``.
2. ``read_only=True`` annotation -> ``auto``.
3. A script tool (``*-script-*``) -> ``approval``: it runs code on endpoints whatever its name says.
4. A read verb leading the name (get, list, search, ...) -> ``auto``.
5. ``destructive=False`` with ``idempotent=True`` and ``open_world=False`` -> ``auto``
   (e.g. acknowledging an alert).
6. A write verb (create, run, update, schedule, install, ...) -> ``approval``.
7. Anything else -> ``approval``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.core.registry import Tool
from policies.models import PolicyMode

READ_VERBS = frozenset(
    {"get", "list", "search", "find", "show", "read", "describe", "count", "view", "lookup", "query"}
)
WRITE_VERBS = frozenset(
    {
        "create",
        "run",
        "update",
        "schedule",
        "execute",
        "install",
        "restart",
        "reboot",
        "set",
        "add",
        "assign",
        "send",
        "acknowledge",
        "ack",
        "resolve",
        "close",
        "enable",
        "disable",
        "move",
        "patch",
        "deploy",
        "start",
        "stop",
        "apply",
        "approve",
        "comment",
        "rename",
        "push",
        "trigger",
        "mark",
    }
)
DESTRUCTIVE_WORDS = frozenset(
    {"delete", "remove", "wipe", "uninstall", "purge", "destroy", "erase", "format", "revoke", "drop", "shred"}
)
DESTRUCTIVE_PHRASES = (
    re.compile(r"\breset[-_ ]?(?:password|credential|credentials|secret|key|mfa)s?\b", re.I),
    re.compile(r"\bfactory[-_ ]?reset\b", re.I),
    re.compile(r"\b(?:deletes|wipes|uninstalls|erases|destroys|purges)\b", re.I),
)
NAME_NOISE = frozenset({"cw", "rmm", "native", "tool"})


@dataclass(frozen=True)
class Classification:
    """A seeded mode and the sentence shown to admins explaining it."""

    mode: PolicyMode
    reason: str


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[-_\s]+", name.lower()) if w and w not in NAME_NOISE]


def classify(tool: Tool) -> Classification:
    """The default policy of ``tool`` from its annotations, name and description."""
    words = _words(tool.name)
    first_sentence = tool.description.split(".")[0]
    ann = tool.annotations

    destructive = sorted(set(words) & DESTRUCTIVE_WORDS)
    if destructive:
        return Classification(PolicyMode.NEVER, f"destructive verb '{destructive[0]}' in the tool name")
    for phrase in DESTRUCTIVE_PHRASES:
        hit = phrase.search(tool.name) or phrase.search(first_sentence)
        if hit:
            return Classification(PolicyMode.NEVER, f"destructive action '{hit.group(0)}' in the name or description")
    if ann.destructive:
        return Classification(PolicyMode.NEVER, "annotated as destructive")
    if ann.read_only:
        return Classification(PolicyMode.AUTO, "annotated as read-only")
    if "script" in words:
        return Classification(PolicyMode.APPROVAL, "runs a script on endpoints")
    if words and words[0] in READ_VERBS:
        return Classification(PolicyMode.AUTO, f"read verb '{words[0]}' leads the tool name")
    if ann.destructive is False and ann.idempotent and ann.open_world is False:
        return Classification(PolicyMode.AUTO, "annotated as non-destructive, idempotent and closed-world")
    writes = [w for w in words if w in WRITE_VERBS]
    if writes:
        return Classification(PolicyMode.APPROVAL, f"write verb '{writes[0]}' in the tool name")
    return Classification(PolicyMode.APPROVAL, "no rule matched: unknown tools need approval (fail closed)")
