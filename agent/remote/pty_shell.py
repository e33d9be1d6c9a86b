"""A login shell on a pseudo-terminal, read with flow control and coalesced output.

Output is read only when the previous chunk has been handed on, so a ``cat`` of a huge file
blocks the shell (the kernel's PTY buffer fills) instead of flooding memory or losing bytes.
Small reads are coalesced for up to 3 ms or 256 KiB, as xterm.js's own demo server does, because
the relay's cost is per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import termios
from collections.abc import Awaitable, Callable

COALESCE_SECONDS = 0.003
COALESCE_BYTES = 256 << 10
READ_SIZE = 64 << 10
HANGUP_GRACE_SECONDS = 2.0


def default_shell() -> str:
    """The service user's login shell, else bash, else sh."""
    try:
        shell = pwd.getpwuid(os.getuid()).pw_shell
    except KeyError:
        shell = ""
    if shell and os.path.exists(shell) and not shell.endswith(("nologin", "false")):
        return shell
    return shutil.which("bash") or "/bin/sh"


class PtyShell:
    """One shell process on a PTY."""

    def __init__(self, argv: list[str] | None = None, *, cols: int = 80, rows: int = 24) -> None:
        self._argv = argv or [default_shell(), "-i"]
        self._cols, self._rows = cols, rows
        self._master = -1
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def elevated(self) -> bool:
        """Whether the shell runs with administrator rights (reported as elevation used)."""
        return os.geteuid() == 0

    def start(self) -> None:
        """Spawn the shell on a fresh PTY."""
        master, slave = os.openpty()
        termios.tcsetwinsize(slave, (self._rows, self._cols))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        self.process = subprocess.Popen(
            self._argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True
        )
        os.close(slave)
        os.set_blocking(master, False)
        self._master = master

    def resize(self, cols: int, rows: int) -> None:
        """Set the terminal size (the kernel sends SIGWINCH to the shell)."""
        termios.tcsetwinsize(self._master, (rows, cols))

    def write(self, data: bytes) -> None:
        """Type into the shell (blocking writes are fine: the PTY input buffer drains quickly)."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                continue
            view = view[written:]

    async def pump(self, send: Callable[[bytes], Awaitable[None]]) -> int:
        """Forward output to ``send`` until the shell exits; return its exit code."""
        loop = asyncio.get_running_loop()
        while True:
            chunk = await self._read(loop)
            if chunk is None:
                break
            if not chunk:
                continue
            deadline = loop.time() + COALESCE_SECONDS
            while len(chunk) < COALESCE_BYTES and loop.time() < deadline:
                more = await self._read(loop, wait=max(0.0, deadline - loop.time()))
                if not more:
                    break
                chunk += more
            await send(chunk)
        assert self.process is not None
        return await asyncio.to_thread(self.process.wait)

    async def _read(self, loop: asyncio.AbstractEventLoop, wait: float | None = None) -> bytes | None:
        """One read from the PTY: bytes, empty on timeout, None when the shell has gone."""
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self._master, wake)
        try:
            async with asyncio.timeout(wait):
                await ready
        except TimeoutError:
            return b""
        finally:
            loop.remove_reader(self._master)
        try:
            return os.read(self._master, READ_SIZE) or None
        except BlockingIOError:
            return b""
        except OSError:  # EIO: the last process holding the PTY's other end exited
            return None

    def close(self) -> None:
        """Hang up the shell and free the PTY."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGHUP)
            try:
                self.process.wait(timeout=HANGUP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
