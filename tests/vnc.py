"""A real desktop for screen tests: Xvfb with x11vnc serving it on loopback, as an endpoint runs it.

The desktop shows a red ``xmessage`` window in its top-left corner, so a viewer can check that the
pixels it draws are the remote screen's (not just a canvas of the right size).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.ports import free_port

WIDTH, HEIGHT = 800, 600
#: The red window: x, y, width, height on the remote screen.
RED_BOX = (0, 0, 400, 300)


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 15.0) -> None:
    """Block until ``port`` accepts connections (bounded), failing fast if the server died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"VNC server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {port}")


@dataclass(frozen=True)
class Desktop:
    """A running virtual desktop and the port of its VNC server."""

    display: str
    port: int


@pytest.fixture(scope="module", name="vnc_server")
def vnc_server_fixture() -> Iterator[Desktop]:
    """Xvfb + x11vnc (``-shared -forever``, loopback only, no password) + a red window."""
    if not (shutil.which("Xvfb") and shutil.which("x11vnc") and shutil.which("xmessage")):
        pytest.skip("this machine lacks Xvfb, x11vnc or xmessage (Debian packages xvfb, x11vnc, x11-utils)")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as ready:
        display = ":" + ready.readline().strip()  # Xvfb writes the display number once it accepts clients
    x, y, w, h = RED_BOX
    painter = subprocess.Popen(
        [
            "xmessage",
            "-display",
            display,
            "-geometry",
            f"{w}x{h}+{x}+{y}",
            "-bg",
            "red",
            "-fg",
            "red",
            "-bw",
            "0",
            "-xrm",
            "*Command.background: red",
            "-xrm",
            "*Command.borderWidth: 0",
            " ",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port = free_port()
    vnc = subprocess.Popen(
        ["x11vnc", "-display", display, "-localhost", "-rfbport", str(port), "-shared", "-forever", "-nopw", "-quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, vnc)
        yield Desktop(display, port)
    finally:
        for process in (vnc, painter, xvfb):
            end(process)


def end(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process``: SIGTERM, and SIGKILL if it has not exited 10 s later (x11vnc can sit in a blocking
    read of a viewer that went away; the next test must not find it on the display)."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
