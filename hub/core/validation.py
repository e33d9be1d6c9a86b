"""One way to say why pydantic refused some input (REST 422s, UI forms, the agent API, command specs)."""

from __future__ import annotations

from collections.abc import Collection

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from hub.core.jsonutil import clip

__all__ = ["describe_validation_error", "validation_problems"]

MAX_ERRORS = 20
PART_LIMIT = 80
MESSAGE_LIMIT = 300


def validation_problems(
    exc: ValidationError | RequestValidationError, *, root: str = "input", skip: Collection[str] = ()
) -> list[str]:
    """One ``field.path: message`` per error (the first :data:`MAX_ERRORS`); ``root`` names an error
    about the whole input.

    ``skip`` drops location parts that mean nothing to the reader (FastAPI's ``body``); pydantic's
    ``Value error, `` prefix on a validator's message is dropped. Input values are never echoed, and
    long keys and messages are clipped (the input may be megabytes).
    """
    problems = []
    for error in exc.errors()[:MAX_ERRORS]:
        parts = [clip(str(part), PART_LIMIT) for part in error.get("loc", ()) if part not in skip]
        message = clip(str(error.get("msg", "invalid")).removeprefix("Value error, "), MESSAGE_LIMIT)
        problems.append(f"{'.'.join(parts) or root}: {message}")
    return problems


def describe_validation_error(
    exc: ValidationError | RequestValidationError,
    *,
    root: str = "input",
    skip: Collection[str] = (),
    limit: int = 4000,
) -> str:
    """:func:`validation_problems` as one ``; ``-joined line, clipped to ``limit`` characters."""
    return clip("; ".join(validation_problems(exc, root=root, skip=skip)), limit)
