"""Privacy mode on the endpoint: ask the end user before a technician connects, show that a session runs.

The question goes, in this order, to ``RMMHUB_AGENT_CONSENT_COMMAND`` (any program; exit status 0
accepts), to a desktop dialog where the machine has one (zenity or xmessage on an X display,
osascript on macOS), or, on a headless machine, to the configured auto answer
(``RMMHUB_AGENT_CONSENT_HEADLESS``). No answer within the timeout declines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
from dataclasses import dataclass

from agent.remote.settings import RemoteSettings

log = logging.getLogger(__name__)
ACCEPT_CODE, DECLINE_CODE = 101, 102  # xmessage exits 0 on its timeout: that must not read as yes


@dataclass(frozen=True)
class Answer:
    """What the end user (or the headless policy) said, and how it was asked."""

    accepted: bool
    via: str


def _question(technician: str, kind: str) -> str:
    return f"{technician or 'A technician'} asks to open a remote {kind} session on this computer. Allow it?"


def _dialog_argv(technician: str, kind: str, timeout: float) -> tuple[list[str], int] | None:
    """A desktop dialog for this machine, with the exit status that means yes; None on a headless one."""
    text = _question(technician, kind)
    if sys.platform == "darwin" and shutil.which("osascript"):
        script = (f'display dialog "{text}" buttons {{"Decline", "Accept"}} default button "Decline" '
                  f'giving up after {int(timeout)}\nif button returned of result is "Accept" then return')  # fmt: skip
        return ["osascript", "-e", script + "\nerror number 1"], 0
    if not os.environ.get("DISPLAY"):
        return None
    if zenity := shutil.which("zenity"):
        return [zenity, "--question", "--title=Remote support", f"--text={text}", f"--timeout={int(timeout)}",
                "--ok-label=Accept", "--cancel-label=Decline"], 0  # fmt: skip
    if xmessage := shutil.which("xmessage"):
        buttons = f"Accept:{ACCEPT_CODE},Decline:{DECLINE_CODE}"
        return [xmessage, "-center", "-buttons", buttons, "-timeout", str(int(timeout)), text], ACCEPT_CODE
    return None


async def _run(argv: list[str], yes: int, seconds: float, env: dict[str, str]) -> bool:
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        code = await asyncio.wait_for(process.wait(), seconds + 5)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return False
    return code == yes


async def ask(settings: RemoteSettings, *, technician: str, kind: str) -> Answer:
    """Ask the end user whether ``technician`` may open a ``kind`` session."""
    env = {**os.environ, "RMMHUB_TECHNICIAN": technician, "RMMHUB_SESSION_KIND": kind}
    if settings.consent_command:
        argv = (
            ["/bin/sh", "-c", settings.consent_command] if os.name != "nt" else ["cmd", "/c", settings.consent_command]
        )
        return Answer(await _run(argv, 0, settings.consent_timeout, env), "consent command")
    dialog = _dialog_argv(technician, kind, settings.consent_timeout)
    if dialog is not None:
        argv, yes = dialog
        return Answer(await _run(argv, yes, settings.consent_timeout, env), f"dialog ({os.path.basename(argv[0])})")
    accepted = settings.consent_headless == "accept"
    log.info(
        "no desktop to ask on: headless policy %s the request of %s", "accepts" if accepted else "declines", technician
    )
    return Answer(accepted, f"headless policy ({settings.consent_headless})")


class InProgressNotice:
    """A small window telling the end user a session is in progress (where there is a desktop)."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None

    async def show(self, technician: str, kind: str) -> None:
        """Show it (no-op on a headless machine)."""
        xmessage = shutil.which("xmessage") if os.environ.get("DISPLAY") else None
        if xmessage is None:
            log.info("remote %s session by %s in progress", kind, technician)
            return
        text = f"Remote {kind} session in progress: {technician or 'a technician'} is connected."
        self._process = await asyncio.create_subprocess_exec(
            xmessage, "-geometry", "+0-0", "-buttons", "", text,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    async def close(self) -> None:
        """Take it down when the session ends."""
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()
            await self._process.wait()
        self._process = None
