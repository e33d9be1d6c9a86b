"""Script slugs: derived from the name, unique per organisation, short enough for a tool name.

``rmm-script-<slug>`` must fit in 64 characters, so a slug has at most ``SLUG_MAX`` (53). On a
collision the slug gets the smallest free suffix ``-2``, ``-3``, ... with the base truncated to
keep the total within the limit, so the same names always produce the same slugs.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from native_rmm.models.scripts import SLUG_MAX


def slugify(name: str) -> str:
    """Lower-case ASCII letters and digits joined by single dashes, at most ``SLUG_MAX`` long."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "script"


def unique_slug(base: str, taken: Collection[str]) -> str:
    """``base`` if free, else ``base`` (truncated) plus the smallest free ``-N`` suffix."""
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        n += 1
