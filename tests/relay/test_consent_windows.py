"""Privacy mode on Windows: the PowerShell prompt's command line and how its answer is read.

This machine has no Windows desktop, so a stand-in ``powershell.exe`` on PATH plays the end user: it
records its argv and environment (the command the agent built) and prints what the real prompt
prints (``accept``, ``decline``, ``timeout`` or ``nouser``).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from agent.remote import consent
from agent.remote.consent import WindowsReply, parse_windows_reply
from agent.remote.settings import RemoteSettings

STAND_IN = """#!/bin/sh
python3 - "$@" <<'PY'
import json, os, sys
with open(os.environ["STAND_IN_LOG"], "w") as log:
    json.dump({"argv": sys.argv[1:], "text": os.environ.get("RMMHUB_CONSENT_TEXT"),
               "timeout": os.environ.get("RMMHUB_CONSENT_TIMEOUT")}, log)
PY
printf 'starting prompt\\r\\n%s\\r\\n' "$STAND_IN_REPLY"
exit "${STAND_IN_EXIT:-0}"
"""


@pytest.fixture
def powershell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in powershell.exe first on PATH; returns the file it logs its invocation to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "powershell.exe"
    exe.write_text(STAND_IN)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "invocation.json"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STAND_IN_LOG", str(log))
    monkeypatch.delenv("DISPLAY", raising=False)
    return log


def invocation(log: Path) -> dict[str, object] | None:
    """What the stand-in was called with (None: it was never called)."""
    return json.loads(log.read_text()) if log.exists() else None


def test_replies_are_read_from_the_last_line_and_anything_else_declines() -> None:
    assert parse_windows_reply(b"noise\r\naccept\r\n") is WindowsReply.ACCEPT
    assert parse_windows_reply(b"DECLINE") is WindowsReply.DECLINE
    assert parse_windows_reply(b"timeout\n") is WindowsReply.TIMEOUT
    assert parse_windows_reply(b"nouser\n") is WindowsReply.NO_USER
    assert parse_windows_reply(b"") is WindowsReply.DECLINE
    assert parse_windows_reply(b"Exception calling Popup\r\n") is WindowsReply.DECLINE


@pytest.mark.parametrize(
    ("reply", "accepted", "via"),
    [
        ("accept", True, "Windows message box (accept)"),
        ("decline", False, "Windows message box (decline)"),
        ("timeout", False, "Windows message box (timeout)"),
    ],
)
async def test_the_logged_in_user_answers_through_the_message_box(
    powershell: Path, monkeypatch: pytest.MonkeyPatch, reply: str, accepted: bool, via: str
) -> None:
    monkeypatch.setenv("STAND_IN_REPLY", reply)
    settings = RemoteSettings(consent_headless="accept", consent_timeout=25)
    answer = await consent.ask(settings, technician='olga"; Remove-Item C:\\ -Recurse', kind="screen", platform="win32")
    assert (answer.accepted, answer.via) == (accepted, via)
    call = invocation(powershell)
    assert isinstance(call, dict) and isinstance(call["argv"], list) and isinstance(call["text"], str)
    assert call["argv"][:5] == ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command"]
    script = call["argv"][5]
    assert "WScript.Shell" in script and "New-ScheduledTaskPrincipal" in script and "-LogonType Interactive" in script
    # The question travels in the environment, never inside the script: a name cannot inject PowerShell.
    assert "olga" not in script
    assert call["text"].startswith('olga"; Remove-Item') and "remote screen session" in call["text"]
    assert call["timeout"] == "25"


async def test_nobody_logged_on_falls_back_to_the_headless_setting(
    powershell: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAND_IN_REPLY", "nouser")
    for headless, accepted in (("accept", True), ("deny", False)):
        settings = RemoteSettings(consent_headless=headless, consent_timeout=5)  # type: ignore[arg-type]
        answer = await consent.ask(settings, technician="olga", kind="shell", platform="win32")
        assert (answer.accepted, answer.via) == (accepted, f"headless policy ({headless})")


async def test_a_failing_prompt_declines(powershell: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAND_IN_REPLY", "accept")
    monkeypatch.setenv("STAND_IN_EXIT", "1")  # PowerShell itself failed: whatever it printed is not an answer
    answer = await consent.ask(
        RemoteSettings(consent_headless="accept"), technician="olga", kind="shell", platform="win32"
    )
    assert answer.accepted is False and answer.via == "Windows message box (decline)"


async def test_an_explicit_consent_command_still_wins_on_windows(powershell: Path) -> None:
    answer = await consent.ask(
        RemoteSettings(consent_command="exit 0"), technician="olga", kind="shell", platform="win32"
    )
    assert answer.accepted is True and answer.via == "consent command"
    assert invocation(powershell) is None  # the message box was never shown


async def test_the_in_progress_notice_goes_to_every_desktop_with_msg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "msg.json"
    exe = bin_dir / "msg.exe"
    exe.write_text(f'#!/bin/sh\npython3 -c \'import json, sys; json.dump(sys.argv[1:], open("{log}", "w"))\' "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    notice = consent.InProgressNotice()
    await notice.show("olga", "screen", platform="win32")
    await notice.close()
    argv = invocation_list(log)
    assert argv[:2] == ["*", f"/TIME:{consent.NOTICE_SECONDS}"]
    assert argv[2] == "Remote screen session in progress: olga is connected."


def invocation_list(log: Path) -> list[str]:
    loaded = json.loads(log.read_text())
    assert isinstance(loaded, list)
    return [str(a) for a in loaded]
