"""Privacy mode on the endpoint: ask the end user before a technician connects, show that a session runs.

The question goes, in this order, to ``RMMHUB_AGENT_CONSENT_COMMAND`` (any program; exit status 0
accepts), to a desktop dialog where the machine has one (zenity or xmessage on an X display,
osascript on macOS, a Yes/No message box in the logged-in user's session on Windows), or, on a
headless machine, to the configured auto answer (``RMMHUB_AGENT_CONSENT_HEADLESS``). No answer
within the timeout declines.

On Windows the agent runs as a service in session 0, which has no desktop. The prompt is a
PowerShell script: in session 0 it registers a one-shot scheduled task for the logged-on user
(logon type Interactive), so the box shows on that user's desktop, and waits for the answer file the task writes;
outside session 0 it shows the box itself. Either way it prints one word: ``accept``, ``decline``,
``timeout`` or ``nouser`` (nobody is logged on: the headless setting answers instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from enum import StrEnum

from agent.remote.settings import RemoteSettings

log = logging.getLogger(__name__)
NOTICE_SECONDS = 8 * 3600  # how long the Windows "session in progress" box may stay up
ACCEPT_CODE, DECLINE_CODE = 101, 102  # xmessage exits 0 on its timeout: that must not read as yes


@dataclass(frozen=True)
class Answer:
    """What the end user (or the headless policy) said, and how it was asked."""

    accepted: bool
    via: str


class WindowsReply(StrEnum):
    """The one word the Windows prompt script prints."""

    ACCEPT = "accept"
    DECLINE = "decline"
    TIMEOUT = "timeout"
    NO_USER = "nouser"


# WScript.Shell.Popup: 4 = Yes/No buttons, 32 = question icon, 4096 = system modal (on top);
# it returns 6 for Yes, 7 for No and -1 when the timeout passed unanswered.
_WINDOWS_PROMPT = r"""
$ErrorActionPreference = 'Stop'
$text = $env:RMMHUB_CONSENT_TEXT; $seconds = [int]$env:RMMHUB_CONSENT_TIMEOUT
function Ask { $r = (New-Object -ComObject WScript.Shell).Popup($text, $seconds, 'Remote support', 4 + 32 + 4096)
  if ($r -eq 6) { 'accept' } elseif ($r -eq 7) { 'decline' } else { 'timeout' } }
if ([System.Diagnostics.Process]::GetCurrentProcess().SessionId -ne 0) { Ask; exit 0 }
$user = (Get-CimInstance Win32_ComputerSystem).UserName
if (-not $user) { 'nouser'; exit 0 }
$id = [guid]::NewGuid(); $answer = Join-Path $env:ProgramData "rmmhub-consent-$id.txt"
$question = Join-Path $env:ProgramData "rmmhub-consent-$id.question"; Set-Content -Path $question -Value $text
$inner = "`$r = (New-Object -ComObject WScript.Shell).Popup((Get-Content -Raw '$question'), $seconds, " +
  "'Remote support', 4132); Set-Content -Path '$answer' -Value `$r"
$task = "rmmhub-consent-$id"
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument ('-NoProfile -WindowStyle Hidden -Command ' + $inner)
$principal = New-ScheduledTaskPrincipal -UserId $user -LogonType Interactive
Register-ScheduledTask -TaskName $task -Action $action -Principal $principal | Out-Null
try { Start-ScheduledTask -TaskName $task
  $deadline = (Get-Date).AddSeconds($seconds + 5)
  while (-not (Test-Path $answer) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 250 }
  if (-not (Test-Path $answer)) { 'timeout'; exit 0 }
  $r = [int](Get-Content $answer -TotalCount 1)
  if ($r -eq 6) { 'accept' } elseif ($r -eq 7) { 'decline' } else { 'timeout' }
} finally { Unregister-ScheduledTask -TaskName $task -Confirm:$false
  Remove-Item $answer, $question -ErrorAction SilentlyContinue }
"""


def _question(technician: str, kind: str) -> str:
    return f"{technician or 'A technician'} asks to open a remote {kind} session on this computer. Allow it?"


def windows_prompt_argv() -> list[str] | None:
    """The PowerShell command that asks the logged-in Windows user (None without PowerShell).

    The question and the timeout travel in ``RMMHUB_CONSENT_TEXT`` / ``RMMHUB_CONSENT_TIMEOUT``, never
    inside the script text, so a technician's name cannot inject PowerShell.
    """
    powershell = shutil.which("powershell.exe") or shutil.which("pwsh.exe") or shutil.which("powershell")
    if powershell is None:
        return None
    return [powershell, "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", _WINDOWS_PROMPT]


def parse_windows_reply(stdout: bytes) -> WindowsReply:
    """Read the prompt's answer; anything but the four words declines (fail closed)."""
    lines = stdout.decode("utf-8", "replace").strip().splitlines()
    word = lines[-1].strip().lower() if lines else ""
    try:
        return WindowsReply(word)
    except ValueError:
        log.warning("the Windows consent prompt printed %r, not an answer: declining", word[:80])
        return WindowsReply.DECLINE


def _dialog_argv(technician: str, kind: str, timeout: float) -> tuple[list[str], int] | None:
    """A desktop dialog for this machine, with the exit status that means yes; None on a headless one."""
    text = _question(technician, kind)
    if sys.platform == "darwin" and shutil.which("osascript"):
        script = (
            f'display dialog "{text}" buttons {{"Decline", "Accept"}} default button "Decline" '
            f'giving up after {int(timeout)}\nif button returned of result is "Accept" then return'
        )
        return ["osascript", "-e", script + "\nerror number 1"], 0
    if not os.environ.get("DISPLAY"):
        return None
    if zenity := shutil.which("zenity"):
        return [
            zenity,
            "--question",
            "--title=Remote support",
            f"--text={text}",
            f"--timeout={int(timeout)}",
            "--ok-label=Accept",
            "--cancel-label=Decline",
        ], 0
    if xmessage := shutil.which("xmessage"):
        buttons = f"Accept:{ACCEPT_CODE},Decline:{DECLINE_CODE}"
        return [xmessage, "-center", "-buttons", buttons, "-timeout", str(int(timeout)), text], ACCEPT_CODE
    return None


async def _run(argv: list[str], yes: int, seconds: float, env: dict[str, str]) -> bool:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        async with asyncio.timeout(seconds + 5):
            code = await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return False
    return code == yes


async def ask_windows_user(argv: list[str], text: str, seconds: float, env: dict[str, str]) -> WindowsReply:
    """Run the Windows prompt and read its one-word answer (no answer in time declines)."""
    env = {**env, "RMMHUB_CONSENT_TEXT": text, "RMMHUB_CONSENT_TIMEOUT": str(int(seconds))}
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        async with asyncio.timeout(seconds + 15):
            stdout, _ = await process.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return WindowsReply.TIMEOUT
    if process.returncode != 0:
        log.warning("the Windows consent prompt failed (exit %s): declining", process.returncode)
        return WindowsReply.DECLINE
    return parse_windows_reply(stdout)


async def ask(settings: RemoteSettings, *, technician: str, kind: str, platform: str = sys.platform) -> Answer:
    """Ask the end user whether ``technician`` may open a ``kind`` session."""
    env = {**os.environ, "RMMHUB_TECHNICIAN": technician, "RMMHUB_SESSION_KIND": kind}
    if settings.consent_command:
        argv = (
            ["/bin/sh", "-c", settings.consent_command] if os.name != "nt" else ["cmd", "/c", settings.consent_command]
        )
        return Answer(await _run(argv, 0, settings.consent_timeout, env), "consent command")
    if platform == "win32" and (prompt := windows_prompt_argv()) is not None:
        reply = await ask_windows_user(prompt, _question(technician, kind), settings.consent_timeout, env)
        if reply is not WindowsReply.NO_USER:
            return Answer(reply is WindowsReply.ACCEPT, f"Windows message box ({reply.value})")
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

    async def show(self, technician: str, kind: str, *, platform: str = sys.platform) -> None:
        """Show it (no-op on a headless machine). On Windows ``msg *`` puts it on every session's desktop."""
        if platform == "win32" and (msg := shutil.which("msg.exe") or shutil.which("msg")):
            text = f"Remote {kind} session in progress: {technician or 'a technician'} is connected."
            notice = await asyncio.create_subprocess_exec(
                msg,
                "*",
                f"/TIME:{NOTICE_SECONDS}",
                text,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await notice.wait()  # msg returns at once (no /W): the box stays until dismissed or its time is up
            return
        xmessage = shutil.which("xmessage") if os.environ.get("DISPLAY") else None
        if xmessage is None:
            log.info("remote %s session by %s in progress", kind, technician)
            return
        text = f"Remote {kind} session in progress: {technician or 'a technician'} is connected."
        self._process = await asyncio.create_subprocess_exec(
            xmessage,
            "-geometry",
            "+0-0",
            "-buttons",
            "",
            text,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def close(self) -> None:
        """Take it down when the session ends."""
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()
            await self._process.wait()
        self._process = None
