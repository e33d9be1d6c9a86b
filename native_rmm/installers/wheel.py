"""The agent wheel served at ``/agent/v1/download/agent.whl``, built from ``agent/`` once per process.

The source is copied to a private temporary folder first (two hub processes never build in the
same tree) and built with the running interpreter's pip without build isolation (no network
needed: setuptools comes from the hub's own environment).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import tempfile
from pathlib import Path

import agent.protocol

log = logging.getLogger(__name__)
AGENT_SOURCE = Path(agent.protocol.__file__).resolve().parent
BUILD_TIMEOUT_SECONDS = 300


class WheelBuildError(RuntimeError):
    """The agent wheel could not be built; the message carries pip's output."""


class WheelBuilder:
    """Builds the wheel on first request and serves the cached file afterwards."""

    def __init__(self, source: Path = AGENT_SOURCE) -> None:
        self._source = source
        self._lock = asyncio.Lock()
        self._dir: Path | None = None
        self._wheel: Path | None = None

    async def wheel(self) -> Path:
        """The built wheel's path (builds it the first time).

        Raises:
            WheelBuildError: pip failed or produced no wheel.
        """
        async with self._lock:
            if self._wheel is not None and self._wheel.exists():
                return self._wheel
            self._wheel = await self._build()
            return self._wheel

    async def _build(self) -> Path:
        if not (self._source / "pyproject.toml").exists():
            raise WheelBuildError(f"no agent source with a pyproject.toml at {self._source}")
        self._dir = Path(tempfile.mkdtemp(prefix="rmmhub-agent-wheel-"))
        tree = self._dir / "agent"
        shutil.copytree(
            self._source, tree, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", "*.pyc")
        )
        out = self._dir / "dist"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-q",
            str(tree),
            "-w",
            str(out),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with asyncio.timeout(BUILD_TIMEOUT_SECONDS):
                output, _ = await proc.communicate()
        except TimeoutError as exc:
            proc.kill()
            raise WheelBuildError(f"building the agent wheel took longer than {BUILD_TIMEOUT_SECONDS} s") from exc
        wheels = sorted(out.glob("rmmhub_agent-*.whl")) if out.exists() else []
        if proc.returncode != 0 or not wheels:
            tail = output.decode(errors="replace")[-2000:]
            raise WheelBuildError(f"building the agent wheel failed (pip exit {proc.returncode}): {tail}")
        log.info("built the agent wheel %s", wheels[-1].name)
        return wheels[-1]

    def cleanup(self) -> None:
        """Remove the build folder."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
            self._wheel = None
