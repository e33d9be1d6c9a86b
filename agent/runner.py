"""Run ``shell`` and ``script`` commands: subprocess, timeout, process-tree kill, capped output.

The output cap follows :class:`agent.protocol.CommandResult`: the first ``MAX_OUTPUT_BYTES`` bytes
of stdout and stderr in arrival order are kept, the rest is read and discarded (so the child never
blocks on a full pipe), and ``truncated`` says so. On timeout the whole process group (POSIX) or
process tree (Windows) is killed and the result is ``timed_out``. When the main process exits but a
background child keeps the pipes open, the runner stops reading after ``PIPE_GRACE_SECONDS`` and
leaves that child alone (scripts may start daemons on purpose).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from agent.protocol import MAX_OUTPUT_BYTES, CommandKind, CommandResult, CommandSpec, CommandStatus, Shell

PIPE_GRACE_SECONDS = 5.0
KILL_GRACE_SECONDS = 2.0
_SCRIPT_SUFFIX = {Shell.POWERSHELL: ".ps1", Shell.CMD: ".cmd", Shell.PYTHON: ".py"}

OnStarted = Callable[[datetime], Awaitable[None]]


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class OutputCapture:
    """Keeps the head of stdout and stderr, ``limit`` bytes together, in arrival order."""

    limit: int = MAX_OUTPUT_BYTES
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    truncated: bool = False

    def feed(self, stream: str, data: bytes) -> None:
        room = self.limit - len(self.stdout) - len(self.stderr)
        if len(data) > room:
            self.truncated = True
            data = data[: max(room, 0)]
        (self.stdout if stream == "stdout" else self.stderr).extend(data)

    def decoded(self) -> tuple[str, str, bool]:
        """Decode as UTF-8 (invalid bytes -> U+FFFD) and trim so the encoded total stays in the cap."""
        out = self.stdout.decode("utf-8", errors="replace")
        err = self.stderr.decode("utf-8", errors="replace")
        out_len, err_len = len(out.encode()), len(err.encode())
        if out_len + err_len <= self.limit:
            return out, err, self.truncated
        out = _trim_utf8(out, self.limit)
        err = _trim_utf8(err, self.limit - len(out.encode()))
        return out, err, True


def _trim_utf8(text: str, budget: int) -> str:
    return text.encode()[: max(budget, 0)].decode("utf-8", errors="ignore")


def build_argv(shell: Shell, *, command: str | None = None, script: Path | None = None) -> list[str]:
    """The argv that runs ``command`` (a command line) or ``script`` (a file) with ``shell``."""
    target = str(script) if script is not None else command or ""
    if shell is Shell.PYTHON:
        return [sys.executable, target] if script is not None else [sys.executable, "-c", target]
    if shell is Shell.POWERSHELL:
        exe = "powershell.exe" if sys.platform == "win32" else "pwsh"
        flag = "-File" if script is not None else "-Command"
        return [exe, "-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", flag, target]
    if shell is Shell.CMD:
        return ["cmd.exe", "/d", "/c", target]
    return [str(shell), target] if script is not None else [str(shell), "-c", target]


async def run_command(
    spec: CommandSpec, *, on_started: OnStarted | None = None, work_dir: Path | None = None
) -> CommandResult:
    """Run a ``shell`` or ``script`` command and return its result (never raises for child failures).

    Args:
        spec: The command; its ``env`` is added to the agent's environment.
        on_started: Awaited right after the process started (to report ``running``).
        work_dir: Directory for temporary script files (default: the system temp directory).
    """
    if spec.kind not in (CommandKind.SHELL, CommandKind.SCRIPT) or spec.shell is None:
        raise ValueError(f"run_command runs shell and script commands, not {spec.kind}")
    if spec.kind is CommandKind.SHELL:
        return await run_process(
            spec.id,
            build_argv(spec.shell, command=spec.body),
            env=spec.env,
            timeout_seconds=spec.timeout_seconds,
            on_started=on_started,
        )
    suffix = _SCRIPT_SUFFIX.get(spec.shell, ".sh")
    with tempfile.TemporaryDirectory(prefix="rmmhub-", dir=work_dir) as tmp:
        script = Path(tmp) / f"script{suffix}"
        newline = "\r\n" if spec.shell is Shell.CMD else "\n"
        script.write_text(spec.body, encoding="utf-8", newline=newline)
        script.chmod(0o700)
        return await run_process(
            spec.id,
            build_argv(spec.shell, script=script),
            env=spec.env,
            timeout_seconds=spec.timeout_seconds,
            on_started=on_started,
            cwd=Path(tmp),
        )


async def run_process(
    command_id: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout_seconds: float,
    on_started: OnStarted | None = None,
    cwd: Path | None = None,
    max_output: int = MAX_OUTPUT_BYTES,
) -> CommandResult:
    """Run ``argv`` with a timeout and a shared output cap; see the module docstring."""
    loop = asyncio.get_running_loop()
    protocol = _CaptureProtocol(loop, OutputCapture(limit=max_output))
    started_at = now()
    popen_kwargs: dict[str, Any] = {"start_new_session": True}
    if sys.platform == "win32":
        popen_kwargs = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    try:
        transport, _ = await loop.subprocess_exec(
            lambda: protocol,
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            cwd=cwd,
            **popen_kwargs,
        )
    except OSError as exc:
        return CommandResult(
            command_id=command_id,
            status=CommandStatus.FAILED,
            stderr=f"could not start {argv[0]}: {exc}",
            started_at=started_at,
            finished_at=now(),
        )
    status = CommandStatus.SUCCEEDED
    try:
        if on_started is not None:
            await on_started(started_at)
        async with asyncio.timeout(timeout_seconds):
            await asyncio.shield(protocol.exited)
            await asyncio.wait([protocol.pipes_closed], timeout=PIPE_GRACE_SECONDS)
    except TimeoutError:
        status = CommandStatus.TIMED_OUT
        kill_tree(transport.get_pid())
        await asyncio.wait([protocol.exited], timeout=KILL_GRACE_SECONDS)
        await asyncio.wait([protocol.pipes_closed], timeout=KILL_GRACE_SECONDS)
    except asyncio.CancelledError:
        kill_tree(transport.get_pid())
        raise
    finally:
        transport.close()
    exit_code = transport.get_returncode() if status is CommandStatus.SUCCEEDED else None
    if exit_code != 0 and status is CommandStatus.SUCCEEDED:
        status = CommandStatus.FAILED
    stdout, stderr, truncated = protocol.capture.decoded()
    return CommandResult(
        command_id=command_id,
        status=status,
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        truncated=truncated,
        started_at=started_at,
        finished_at=now(),
    )


class _CaptureProtocol(asyncio.SubprocessProtocol):
    """Feeds both pipes into one :class:`OutputCapture`; tells when the process and the pipes end.

    ``process_exited`` fires when the child exits even if a grandchild still holds the pipes.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, capture: OutputCapture) -> None:
        self.capture = capture
        self.exited: asyncio.Future[None] = loop.create_future()
        self.pipes_closed: asyncio.Future[None] = loop.create_future()
        self._open_pipes = {1, 2}

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        chunk = data.encode() if isinstance(data, str) else data
        self.capture.feed("stdout" if fd == 1 else "stderr", chunk)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open_pipes.discard(fd)
        if not self._open_pipes and not self.pipes_closed.done():
            self.pipes_closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


def kill_tree(pid: int) -> None:
    """Kill ``pid`` and every descendant, including ones that left its process group."""
    try:
        root = psutil.Process(pid)
        targets = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        targets = []
    if sys.platform != "win32":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    for process in targets:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
