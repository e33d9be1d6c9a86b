"""Who uses the machine: real utmp/wtmp files parsed as glibc writes them, and captured Windows
``query user`` / macOS ``last`` output (golden samples)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from agent.collectors import users
from agent.collectors.users import USER_PROCESS, UTMP_RECORD, UtmpRecord, pack_utmp

SAMPLES = Path(__file__).parent / "samples"
DEAD_PID = 2**22 + 12345  # above the kernel's pid_max default ceiling: no such process
BOOT_TIME = 2


def _write(path: Path, records: list[UtmpRecord]) -> Path:
    path.write_bytes(b"".join(pack_utmp(r) for r in records))
    return path


def test_utmp_record_is_glibc_sized() -> None:
    assert UTMP_RECORD == 384


def test_linux_sessions_and_last_login_from_real_files(tmp_path: Path) -> None:
    me = os.getpid()
    t0 = int(datetime(2026, 12, 1, 8, 30, tzinfo=UTC).timestamp())
    utmp = _write(tmp_path / "utmp", [
        UtmpRecord(type=BOOT_TIME, pid=0, line="~", user="reboot", host="6.1.0", seconds=t0 - 600),
        UtmpRecord(type=USER_PROCESS, pid=me, line="tty1", user="priya", host="", seconds=t0),
        UtmpRecord(type=USER_PROCESS, pid=me, line="pts/0", user="tom", host="10.0.0.5", seconds=t0 + 60),
        UtmpRecord(type=USER_PROCESS, pid=DEAD_PID, line="pts/1", user="ghost", host="", seconds=t0 + 90),
    ])  # fmt: skip
    wtmp = _write(tmp_path / "wtmp", [
        UtmpRecord(type=USER_PROCESS, pid=me, line="pts/0", user="tom", host="10.0.0.5", seconds=t0 + 60),
        UtmpRecord(type=BOOT_TIME, pid=0, line="~", user="reboot", host="", seconds=t0 + 500),
        UtmpRecord(type=USER_PROCESS, pid=DEAD_PID, line="pts/2", user="kim", host="", seconds=t0 + 300),
    ])  # fmt: skip
    # A torn record at the end of wtmp (a write in progress) is ignored.
    with wtmp.open("ab") as fh:
        fh.write(b"\x07\x00partial")
    report = users.collect_linux(utmp, wtmp)
    assert [(s.name, s.terminal, s.host) for s in report.logged_in] == [("priya", "tty1", None),
                                                                       ("tom", "pts/0", "10.0.0.5")]  # fmt: skip
    assert report.logged_in[0].started_at == datetime.fromtimestamp(t0, UTC)
    assert report.last_user == "kim" and report.last_login_at == datetime.fromtimestamp(t0 + 300, UTC)


def test_linux_without_wtmp_names_the_newest_session(tmp_path: Path) -> None:
    utmp = _write(tmp_path / "utmp", [
        UtmpRecord(type=USER_PROCESS, pid=os.getpid(), line="tty1", user="priya", host="", seconds=1_800_000_000),
        UtmpRecord(type=USER_PROCESS, pid=os.getpid(), line="tty2", user="ann", host="", seconds=1_800_000_100),
    ])  # fmt: skip
    report = users.collect_linux(utmp, tmp_path / "absent-wtmp")
    assert report.last_user == "ann" and len(report.logged_in) == 2
    empty = users.collect_linux(_write(tmp_path / "empty", []), tmp_path / "absent-wtmp")
    assert empty.logged_in == [] and empty.last_user is None


def test_windows_query_user_golden() -> None:
    sessions = users.parse_query_user((SAMPLES / "query_user.txt").read_text())
    assert [(s.name, s.terminal, s.state) for s in sessions] == [
        ("priya.shah", "console", "Active"), ("tom.jones", None, "Disc"), ("svc-backup", "rdp-tcp#12", "Active"),
    ]  # fmt: skip
    assert sessions[0].started_at is not None and sessions[0].started_at.astimezone().hour == 9
    report = users._report(sessions, None)
    assert report.last_user == "svc-backup"  # the newest logon
    assert users.parse_query_user("No User exists for *\n") == []


def test_macos_last_golden() -> None:
    assert users.parse_last((SAMPLES / "last_macos.txt").read_text()) == "priya"
    assert users.parse_last("reboot ~ Tue\n\nwtmp begins Mon\n") is None
