"""Canonical JSON (stable hashing of tool arguments and audit entries) and size-bounded previews."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Serialise ``value`` deterministically: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_of(value: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def preview(value: Any, limit: int = 4096) -> Any:
    """``value`` itself when its JSON is at most ``limit`` bytes, else a truncated string marker."""
    text = canonical_json(value)
    if len(text.encode()) <= limit:
        return value
    return {"truncated": True, "bytes": len(text.encode()), "head": text[:limit]}


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters with a marker saying how much went (for echoed input)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"
