"""The per-OS restart steps of a self-update (agent/update_restart.py): the launchd and scheduled-task
helpers pinned by golden files and checked statically (shellcheck; the PowerShell grammar and
tokenizer), the launchd helper run for real against a stand-in ``launchctl`` on PATH, and
``bring_back`` choosing the service manager's step and falling back to a direct start.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from agent.update_restart import (
    bring_back,
    helper_argv,
    render_macos_helper,
    render_windows_helper,
    restarts_in_place,
    write_helper,
)
from tests.agent.powershell_check import check_powershell, tree_sitter_errors

GOLDEN = Path(__file__).parent / "golden"
PLIST = "/Library/LaunchDaemons/com.rmmhub.agent.plist"
WIN_PYTHON = "C:\\Program Files\\rmmhub-agent\\venv\\Scripts\\pythonw.exe"
WIN_STATE = "C:\\Program Files\\rmmhub-agent\\state"


def _golden(name: str, rendered: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("RMMHUB_UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8"), "re-run with RMMHUB_UPDATE_GOLDEN=1 after reviewing the diff"


def test_macos_helper_golden() -> None:
    _golden("update-restart-macos.sh", render_macos_helper(PLIST, domain="system"))


@pytest.mark.parametrize("stop_first", [False, True])
def test_windows_helper_golden(stop_first: bool) -> None:
    rendered = render_windows_helper(
        "rmmhub-agent", pid=4242, stop_first=stop_first, python=WIN_PYTHON, state_dir=WIN_STATE
    )
    _golden(f"update-restart-windows{'-rollback' if stop_first else ''}.ps1", rendered)
    assert ("$StopFirst = $true" if stop_first else "$StopFirst = $false") in rendered
    assert "$WaitPid = 4242" in rendered and "Start-ScheduledTask -TaskName $TaskName" in rendered


def test_windows_helper_quotes_and_parses() -> None:
    rendered = render_windows_helper(
        "it's a task", pid=7, stop_first=True, python="C:\\o'k\\pythonw.exe", state_dir="C:\\s"
    )
    assert "$TaskName = 'it''s a task'" in rendered and "$Python = 'C:\\o''k\\pythonw.exe'" in rendered
    check_powershell(rendered)
    assert tree_sitter_errors(rendered) == []


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (Debian: shellcheck)")
def test_macos_helper_passes_shellcheck(tmp_path: Path) -> None:
    path = tmp_path / "update-restart.sh"
    path.write_text(render_macos_helper("/tmp/it's here/com.rmmhub.agent.plist", domain="gui/501"))
    done = subprocess.run(["shellcheck", "--severity=style", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


def _stand_in_launchctl(folder: Path, *, kickstart_exit: int) -> Path:
    """A ``launchctl`` that records its arguments; ``kickstart`` exits with ``kickstart_exit``."""
    folder.mkdir(parents=True, exist_ok=True)
    calls = folder / "calls.log"
    script = folder / "launchctl"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> "{calls}"\n'
        f'if [ "$1" = kickstart ]; then exit {kickstart_exit}; fi\n'
        "exit 0\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return calls


def _env_with(folder: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize(
    ("kickstart_exit", "plist_exists", "exit_code", "calls"),
    [
        (0, True, 0, ["kickstart -k system/com.rmmhub.agent"]),
        (113, True, 0, ["kickstart -k system/com.rmmhub.agent", "bootstrap system {plist}"]),
        (113, False, 1, ["kickstart -k system/com.rmmhub.agent"]),
    ],
)
def test_macos_helper_runs_launchctl(
    tmp_path: Path, kickstart_exit: int, plist_exists: bool, exit_code: int, calls: list[str]
) -> None:
    log = _stand_in_launchctl(tmp_path / "bin", kickstart_exit=kickstart_exit)
    plist = tmp_path / "LaunchDaemons" / "com.rmmhub.agent.plist"
    if plist_exists:
        plist.parent.mkdir()
        plist.write_text("<plist/>")
    script = tmp_path / "update-restart.sh"
    script.write_text(render_macos_helper(str(plist), domain="system"))
    done = subprocess.run(
        helper_argv(script), env=_env_with(tmp_path / "bin"), capture_output=True, text=True, check=False
    )
    assert done.returncode == exit_code, done.stderr
    assert log.read_text().splitlines() == [c.format(plist=plist) for c in calls]


def test_bring_back_through_launchd_and_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    state.mkdir()
    plist = tmp_path / "com.rmmhub.agent.plist"
    plist.write_text("<plist/>")
    started: list[str] = []
    log = _stand_in_launchctl(tmp_path / "bin", kickstart_exit=0)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    how = bring_back("launchd", str(plist), state, pid=1, start_directly=lambda: started.append("direct"))
    assert how == "launchd" and not started and (state / "update-restart.sh").is_file()
    assert log.read_text().splitlines()[-1].startswith("kickstart -k ")

    # launchctl missing entirely (and the plist gone): the agent is started directly.
    monkeypatch.setenv("PATH", "/nonexistent")
    plist.unlink()
    assert bring_back("launchd", str(plist), state, pid=1, start_directly=lambda: started.append("direct")) == "direct"
    # A scheduled task whose helper cannot run here (no powershell.exe): started directly, helper written.
    assert (
        bring_back("scheduled_task", "rmmhub-agent", state, pid=1, start_directly=lambda: started.append("d"))
        == "direct"
    )
    helper = (state / "update-restart.ps1").read_text()
    assert "$StopFirst = $true" in helper and "$WaitPid = 1" in helper
    assert started == ["direct", "d"]
    assert bring_back("none", None, state, pid=1, start_directly=lambda: started.append("n")) == "direct"


def test_which_services_restart_in_place(tmp_path: Path) -> None:
    assert restarts_in_place("systemd") and restarts_in_place("launchd") and restarts_in_place("none")
    assert not restarts_in_place("scheduled_task")  # Windows: the task starts the new version
    assert write_helper("systemd", "x.service", tmp_path, pid=1, stop_first=False, python="py") is None
    assert helper_argv(Path("a.ps1"))[:2] == ["powershell.exe", "-NoProfile"]
    assert helper_argv(Path("a.sh")) == ["/bin/sh", "a.sh"]
