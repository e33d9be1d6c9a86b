"""Who uses the machine: the sessions open now and the last user to log in.

Linux reads the utmp (sessions now) and wtmp (logins) files directly: fixed 384-byte glibc records,
parsed by :func:`parse_utmp`, so the parser is tested against real files on every platform. macOS
takes sessions from psutil (its utmpx) and the last login from ``last``. Windows parses
``query user`` (the Terminal Services session API's command-line face; golden output in the tests)
and falls back to psutil's session list.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from agent.collectors._exec import run_tool
from agent.protocol import MAX_LIST_ITEMS, UserSession, UserSessions

log = logging.getLogger(__name__)
#: Where Linux keeps them; ``RMMHUB_AGENT_UTMP`` / ``RMMHUB_AGENT_WTMP`` point elsewhere (chroots, tests).
UTMP_PATH = Path(os.environ.get("RMMHUB_AGENT_UTMP", "/var/run/utmp"))
WTMP_PATH = Path(os.environ.get("RMMHUB_AGENT_WTMP", "/var/log/wtmp"))
#: glibc ``struct utmp`` on Linux (x86_64 and aarch64 alike): 384 bytes.
UTMP_FORMAT = "<hxxi32s4s32s256shhiii4i20s"
UTMP_RECORD = struct.calcsize(UTMP_FORMAT)
USER_PROCESS = 7
#: How much of wtmp's end is read for the last login (it grows for ever; the newest records are last).
WTMP_TAIL_RECORDS = 4096
_SYSTEM_USERS = {"reboot", "shutdown", "runlevel", "LOGIN"}


@dataclass(frozen=True)
class UtmpRecord:
    """One utmp/wtmp record."""

    type: int
    pid: int
    line: str
    user: str
    host: str
    seconds: int


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def pack_utmp(record: UtmpRecord) -> bytes:
    """One record as glibc writes it (used to write real utmp files in tests and tools)."""
    return struct.pack(
        UTMP_FORMAT, record.type, record.pid, record.line.encode(), b"", record.user.encode(), record.host.encode(),
        0, 0, 0, record.seconds, 0, 0, 0, 0, 0, b"",
    )  # fmt: skip


def parse_utmp(data: bytes) -> list[UtmpRecord]:
    """Every whole record of a utmp/wtmp file's bytes (a torn trailing record is ignored)."""
    records = []
    for offset in range(0, len(data) - UTMP_RECORD + 1, UTMP_RECORD):
        fields = struct.unpack_from(UTMP_FORMAT, data, offset)
        records.append(
            UtmpRecord(type=fields[0], pid=fields[1], line=_text(fields[2]), user=_text(fields[4]),
                       host=_text(fields[5]), seconds=fields[9])
        )  # fmt: skip
    return records


def _alive(pid: int) -> bool:
    return pid <= 0 or psutil.pid_exists(pid)


def _when(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def sessions_from_utmp(records: list[UtmpRecord], *, check_pid: bool = True) -> list[UserSession]:
    """Open login sessions (``USER_PROCESS`` records whose process still runs)."""
    out = []
    for r in records:
        if r.type != USER_PROCESS or not r.user or (check_pid and not _alive(r.pid)):
            continue
        out.append(UserSession(name=r.user[:64], terminal=r.line[:64] or None, host=r.host[:255] or None,
                               started_at=_when(r.seconds)))  # fmt: skip
    return out[:MAX_LIST_ITEMS]


def last_login(records: list[UtmpRecord]) -> tuple[str, datetime] | None:
    """The newest user login of wtmp records (user, when)."""
    logins = [r for r in records if r.type == USER_PROCESS and r.user and r.user not in _SYSTEM_USERS]
    if not logins:
        return None
    newest = max(logins, key=lambda r: r.seconds)
    return newest.user, datetime.fromtimestamp(newest.seconds, UTC)


def _read_tail(path: Path, records: int) -> bytes:
    size = path.stat().st_size
    start = max(0, (size // UTMP_RECORD - records) * UTMP_RECORD)
    with path.open("rb") as fh:
        fh.seek(start)
        return fh.read()


def collect_linux(utmp: Path = UTMP_PATH, wtmp: Path = WTMP_PATH, *, check_pid: bool = True) -> UserSessions:
    """Sessions from ``utmp`` and the last login from ``wtmp`` (the newest session when wtmp is absent)."""
    try:
        now = sessions_from_utmp(parse_utmp(utmp.read_bytes()), check_pid=check_pid)
    except OSError as exc:
        log.debug("utmp unreadable (%s); using psutil", exc)
        now = _psutil_sessions()
    last: tuple[str, datetime | None] | None = None
    try:
        last = last_login(parse_utmp(_read_tail(wtmp, WTMP_TAIL_RECORDS)))
    except OSError as exc:
        log.debug("wtmp unreadable: %s", exc)
    return _report(now, last)


def _report(now: list[UserSession], last: tuple[str, datetime | None] | None) -> UserSessions:
    if last is None and now:
        newest = max(now, key=lambda s: s.started_at or datetime.min.replace(tzinfo=UTC))
        last = (newest.name, newest.started_at)
    return UserSessions(
        logged_in=now, last_user=last[0][:64] if last else None, last_login_at=last[1] if last else None
    )


def _psutil_sessions() -> list[UserSession]:
    return [
        UserSession(name=u.name[:64], terminal=(u.terminal or "")[:64] or None, host=(u.host or "")[:255] or None,
                    started_at=_when(u.started))
        for u in psutil.users() if u.name
    ][:MAX_LIST_ITEMS]  # fmt: skip


_LAST_LINE = re.compile(r"^(?P<user>\S+)\s+(?P<line>\S+)")


def parse_last(text: str) -> str | None:
    """The user of the newest login in ``last`` output (``reboot`` / ``shutdown`` pseudo-users skipped)."""
    for line in text.splitlines():
        m = _LAST_LINE.match(line)
        if m and m["user"] not in _SYSTEM_USERS and not line.startswith("wtmp") and m["user"] != "wtmp":
            return m["user"][:64]
    return None


_QUERY_TIME = ("%m/%d/%Y %I:%M %p", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M")


def _logon_time(text: str) -> datetime | None:
    for fmt in _QUERY_TIME:
        try:
            return datetime.strptime(text.strip(), fmt).astimezone(UTC)
        except ValueError:
            continue
    return None


def parse_query_user(text: str) -> list[UserSession]:
    """Sessions of Windows ``query user`` output (columns found from the header; ``>`` marks the caller's)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or "USERNAME" not in lines[0].upper():
        return []
    header = lines[0].upper()
    cols = {name: header.index(name) for name in ("SESSIONNAME", "ID", "STATE", "IDLE TIME", "LOGON TIME")}
    out = []
    for line in lines[1:]:
        row = line.ljust(len(header))
        name = row[: cols["SESSIONNAME"]].strip().lstrip(">").strip()
        if not name:
            continue
        session = row[cols["SESSIONNAME"] : cols["ID"]].strip()
        session = "" if session.isdigit() else session
        # The ID column is right-aligned under its header: the state starts after the number.
        rest = row[cols["SESSIONNAME"] :].split()
        state = next((w for w in rest if w.lower() in ("active", "disc", "conn", "listen", "down")), None)
        out.append(UserSession(name=name[:64], terminal=session[:64] or None, state=state,
                               started_at=_logon_time(row[cols["LOGON TIME"] :])))  # fmt: skip
    return out[:MAX_LIST_ITEMS]


def collect_windows() -> UserSessions:
    """``query user`` sessions (exit code 1 means "no user"), else psutil's."""
    text = run_tool(["query", "user"], ok_codes=(0, 1))
    now = parse_query_user(text) if text is not None else _psutil_sessions()
    return _report(now, None)


def collect_macos() -> UserSessions:
    """psutil's sessions (utmpx) and the newest login of ``last``."""
    now = _psutil_sessions()
    text = run_tool(["last", "-20"])
    user = parse_last(text) if text else None
    return _report(now, (user, None) if user and not now else None)


def collect_users() -> UserSessions:
    """Who uses this machine, by platform."""
    if sys.platform.startswith("win"):
        return collect_windows()
    if sys.platform == "darwin":
        return collect_macos()
    if os.path.exists(UTMP_PATH) or os.path.exists(WTMP_PATH):
        return collect_linux()
    return _report(_psutil_sessions(), None)
