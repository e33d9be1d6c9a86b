"""What an approval request will do, in words an approver reads: the ``describe`` hook of a tool.

A tool may carry a ``describe`` coroutine (next to its handler in the tool table) that the gate calls
when it records an approval. It answers a :class:`Description`: one sentence with names instead of
ids (``Run `uname -a` on vm (Contoso / Main office) as root``), the body that will run (a script's
text or a command line), the parameter values, and for bulk actions the list of targets by name.
Tools without a hook get :func:`generic` (a sentence built from the title and the arguments).

The description is stored with the approval (:meth:`Description.text` for the assistant, MCP and
the audit trail; the structured form for the approval card), so it says what the requester was
shown even if a device is renamed later.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

#: How many targets a description lists by name (the rest are counted).
MAX_LISTED_TARGETS = 500
MAX_BODY_CHARS = 20000


class Description(BaseModel):
    """What a request will do, for a human approver."""

    summary: str = Field(max_length=2000, description="one sentence, names instead of ids")
    body: str = Field(default="", description="the text that will run (script body, command line)")
    body_label: str = Field(default="", description="what the body is, e.g. 'Script body (bash)'")
    params: dict[str, str] = Field(default_factory=dict, description="parameter values by name")
    targets: list[str] = Field(default_factory=list, description="every target by name (bulk actions)")
    target_count: int = Field(default=0, description="how many targets in all (may exceed the names listed)")

    def text(self) -> str:
        """The plain-text form stored with the approval (summary first, then the details)."""
        lines = [self.summary]
        if self.targets:
            more = self.target_count - len(self.targets)
            lines.append(
                f"Targets ({self.target_count}): " + ", ".join(self.targets) + (f" and {more} more" if more > 0 else "")
            )
        if self.params:
            lines.append("Parameters: " + ", ".join(f"{k}={v}" for k, v in self.params.items()))
        if self.body:
            lines.append(f"{self.body_label or 'Body'}:\n{self.body}")
        return "\n".join(lines)


def with_targets(summary: str, names: list[str], **extra: Any) -> Description:
    """A description naming every target (bulk actions): ``summary`` plus the list (capped, counted)."""
    return Description(summary=summary, targets=names[:MAX_LISTED_TARGETS], target_count=len(names), **extra)


def clip_body(body: str) -> str:
    """A body as shown to an approver (very long ones are cut, saying so)."""
    if len(body) <= MAX_BODY_CHARS:
        return body
    return body[:MAX_BODY_CHARS] + f"\n… ({len(body) - MAX_BODY_CHARS} more characters)"


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def generic(title: str, name: str, args: dict[str, Any]) -> Description:
    """The fallback: the tool's title and name and its arguments as ``name=value``."""
    shown = ", ".join(f"{k}={_value(v)}" for k, v in args.items())
    summary = f"{title or name} ({name})" + (f" with {shown}" if shown else "")
    return Description(summary=summary[:2000])
