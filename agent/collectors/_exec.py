"""Run an OS tool for a collector: its stdout, or ``None`` when the tool is missing or fails."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence

log = logging.getLogger(__name__)
TOOL_TIMEOUT_SECONDS = 120.0


def run_tool(
    argv: Sequence[str],
    *,
    timeout: float = TOOL_TIMEOUT_SECONDS,
    ok_codes: tuple[int, ...] = (0,),
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Run ``argv`` and return its stdout (UTF-8, invalid bytes replaced).

    Returns ``None`` (and logs why) when the tool is not installed, times out or exits with a code
    outside ``ok_codes``: a collector then reports what it has instead of failing the check-in.
    """
    if shutil.which(argv[0]) is None:
        log.debug("collector tool %s is not installed", argv[0])
        return None
    try:
        completed = subprocess.run(
            list(argv),
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "LC_ALL": "C", "LANG": "C", **(env or {})},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("collector tool %s failed: %s", argv[0], exc)
        return None
    if completed.returncode not in ok_codes:
        log.warning("collector tool %s exited %s: %s", argv[0], completed.returncode, completed.stderr[:500])
        return None
    return completed.stdout.decode("utf-8", errors="replace")
