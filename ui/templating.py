"""The shared Jinja2 environment of every page, and the helpers templates use.

Helpers (available in every template):

* ``value|age`` — "3 min ago" for past datetimes; ``value|until`` — "in 4 h" for deadlines.
* ``value|pretty_json`` — indented JSON for args, results and audit details.
* ``value|short_hash`` — the first 12 characters of a SHA-256.
* ``badge(value)`` — a coloured pill for policy modes, approval statuses, roles and outcomes.
* ``csrf_field(token)`` — the hidden ``csrf_token`` input every form carries.
* ``static(path)`` / ``vendor(name)`` — URLs of local assets.
* ``csp_nonce()`` — this response's Content-Security-Policy nonce, for the rare inline ``<script>``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from hub.core.db import utcnow
from hub.core.security_headers import csp_nonce

TEMPLATES_DIR = Path(__file__).parent / "templates"

#: Badge colour per value; anything else is neutral grey.
BADGE_TONES: dict[str, str] = {
    "auto": "ok",
    "approval": "warn",
    "never": "bad",
    "pending": "warn",
    "approved": "info",
    "executed": "ok",
    "done": "ok",
    "ok": "ok",
    "denied": "bad",
    "refused": "bad",
    "failed": "bad",
    "crashed": "bad",
    "expired": "muted",
    "admin": "bad",
    "approver": "warn",
    "operator": "info",
    "viewer": "muted",
    "classifier": "muted",
    "enabled": "ok",
    "disabled": "muted",
    "revoked": "muted",
    "active": "ok",
    "connected": "ok",
    "not connected": "muted",
    "warning": "warn",
    "critical": "bad",
    "error": "bad",
}
#: How some values read on a badge.
BADGE_LABELS: dict[str, str] = {"approval": "approval needed", "auto": "auto", "never": "never"}


def _seconds_words(seconds: float) -> str:
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400 * 2:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def age(value: datetime | None) -> str:
    """How long ago ``value`` was ("just now", "5 min ago", "3 d ago")."""
    if value is None:
        return "—"
    delta = (utcnow() - value.astimezone(UTC)).total_seconds()
    if delta < 0:
        return f"in {_seconds_words(delta)}"
    if delta < 10:
        return "just now"
    return f"{_seconds_words(delta)} ago"


def until(value: datetime | None) -> str:
    """How long until ``value`` ("in 23 h"), or how long ago it passed."""
    if value is None:
        return "—"
    delta = (value.astimezone(UTC) - utcnow()).total_seconds()
    return f"in {_seconds_words(delta)}" if delta >= 0 else f"{_seconds_words(delta)} ago"


def isotime(value: datetime | None) -> str:
    """A precise UTC timestamp for ``title`` attributes and tables."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pretty_json(value: Any) -> str:
    """Indented, key-sorted JSON (non-JSON values shown with ``str``)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def short_hash(value: str | None, length: int = 12) -> str:
    """The head of a hash, enough to compare by eye."""
    return (value or "")[:length]


def badge(value: object, label: str | None = None) -> Markup:
    """A coloured status pill for modes, statuses, roles and outcomes."""
    raw = value.value if isinstance(value, Enum) else str(value)
    key = raw.lower()
    tone = BADGE_TONES.get(key, "neutral")
    text = label if label is not None else BADGE_LABELS.get(key, raw)
    return Markup('<span class="badge badge-{}" data-value="{}">{}</span>').format(tone, key, text)


def csrf_field(token: str) -> Markup:
    """The hidden CSRF input every form includes."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(token)


def static(path: str) -> str:
    """URL of a file in ``ui/static``."""
    return f"/static/app/{path}"


def vendor(name: str) -> str:
    """URL of a mapped npm asset (see :data:`ui.assets.VENDOR_FILES`)."""
    return f"/static/vendor/{name}"


def _build() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(age=age, until=until, isotime=isotime, pretty_json=pretty_json, short_hash=short_hash)
    env.globals.update(
        badge=badge, csrf_field=csrf_field, static=static, vendor=vendor, escape=escape, csp_nonce=csp_nonce
    )
    return env


env = _build()


def render_string(template: str, **context: Any) -> str:
    """Render ``template`` (a path under ``ui/templates``) to a string."""
    return env.get_template(template).render(**context)
