"""The command runner on this machine: real subprocesses, timeouts, process trees and the output cap."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from agent import protocol as p
from agent.runner import OutputCapture, build_argv, run_command

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells")


def _spec(body: str, *, kind: str = "shell", shell: str = "bash", timeout: int = 30, **extra: object) -> p.CommandSpec:
    return p.CommandSpec.model_validate(
        {
            "id": "c1",
            "kind": kind,
            "shell": shell,
            "body": body,
            "timeout_seconds": timeout,
            "issued_at": datetime.now(UTC),
            **extra,
        }
    )


async def test_shell_command_succeeds_and_reports_started() -> None:
    started: list[datetime] = []

    async def on_started(at: datetime) -> None:
        started.append(at)

    result = await run_command(_spec("echo out; echo err >&2"), on_started=on_started)
    assert (result.status, result.exit_code, result.stdout, result.stderr) == (
        p.CommandStatus.SUCCEEDED,
        0,
        "out\n",
        "err\n",
    )
    assert started == [result.started_at]
    assert not result.truncated


async def test_nonzero_exit_is_failed() -> None:
    result = await run_command(_spec("exit 3"))
    assert (result.status, result.exit_code) == (p.CommandStatus.FAILED, 3)


async def test_missing_interpreter_is_failed_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no interpreter can be found
    result = await run_command(_spec("echo hi", shell="powershell"))
    assert result.status is p.CommandStatus.FAILED
    assert "could not start" in result.stderr


def _entries(path: Path) -> list[Path]:
    return list(path.iterdir())


async def test_script_with_env_params(tmp_path: Path) -> None:
    env = p.script_param_env({"greeting": "hello world", "count": 2})
    body = 'echo "$RMM_PARAM_GREETING/$greeting/$count"\n'
    result = await run_command(_spec(body, kind="script", shell="sh", env=env), work_dir=tmp_path)
    assert result.stdout == "hello world/hello world/2\n"
    assert _entries(tmp_path) == []  # the temporary script is removed


async def test_python_script() -> None:
    result = await run_command(
        _spec("import os; print(os.environ['RMM_PARAM_X'])", shell="python", env={"RMM_PARAM_X": "1"})
    )
    assert result.stdout == "1\n"


def _read(path: Path) -> str:
    return path.read_text()


async def test_timeout_kills_the_whole_process_tree(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    # A child in the group and a grandchild that escapes into its own session both hold the pipes.
    body = f"sleep 300 & echo $! >> {pid_file}; setsid sleep 300 & echo $! >> {pid_file}; wait"
    started = time.monotonic()
    result = await run_command(_spec(body, timeout=1))
    assert time.monotonic() - started < 10
    assert result.status is p.CommandStatus.TIMED_OUT
    assert result.exit_code is None
    pids = [int(line) for line in _read(pid_file).split()]
    assert len(pids) == 2
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_five_mib_of_output_is_truncated_with_flag() -> None:
    body = "import sys; sys.stdout.write('x' * (5 * 1024 * 1024)); sys.stderr.write('tail')"
    result = await run_command(_spec(body, shell="python"))
    assert result.status is p.CommandStatus.SUCCEEDED
    assert result.truncated
    assert len(result.stdout.encode()) + len(result.stderr.encode()) == p.MAX_OUTPUT_BYTES
    # The result passes the protocol's own cap validation and round-trips.
    assert p.CommandResult.model_validate_json(result.model_dump_json()) == result


async def test_background_daemon_does_not_block_completion() -> None:
    started = time.monotonic()
    result = await run_command(_spec("sleep 30 & echo started", timeout=60))
    assert result.status is p.CommandStatus.SUCCEEDED
    assert result.stdout == "started\n"
    assert time.monotonic() - started < 15


def test_capture_trims_invalid_utf8_expansion_to_the_cap() -> None:
    capture = OutputCapture(limit=10)
    capture.feed("stdout", b"\xff" * 8)
    capture.feed("stderr", b"ab")
    out, err, truncated = capture.decoded()
    assert truncated
    assert len(out.encode()) + len(err.encode()) <= 10


def test_build_argv() -> None:
    assert build_argv(p.Shell.BASH, command="ls") == ["bash", "-c", "ls"]
    assert build_argv(p.Shell.CMD, command="dir") == ["cmd.exe", "/d", "/c", "dir"]
    assert build_argv(p.Shell.POWERSHELL, script=Path("s.ps1"))[-2:] == ["-File", "s.ps1"]
