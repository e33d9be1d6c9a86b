"""Shell session recordings in asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/).

The relay sees the plaintext PTY stream, so it records once per session (not once per viewer):
a header line, then one ``[seconds, "o" | "i" | "r", text]`` line per output chunk, input chunk
or resize. Bytes are decoded incrementally as UTF-8 (a character split across two chunks stays
whole); the file is written through a buffer and closed when the session ends.
"""

from __future__ import annotations

import codecs
import json
import re
import time
from pathlib import Path
from typing import IO

SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class Recording:
    """One session's asciicast file."""

    def __init__(self, directory: Path, sid: str, *, title: str = "", cols: int = 80, rows: int = 24) -> None:
        if not SAFE_NAME.match(sid):
            raise ValueError("session id is not a safe file name")
        directory.mkdir(parents=True, exist_ok=True)
        self.name = f"{sid}.cast"
        self.path = directory / self.name
        self._started = time.monotonic()
        self._out = codecs.getincrementaldecoder("utf-8")("replace")
        self._in = codecs.getincrementaldecoder("utf-8")("replace")
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        header = {"version": 2, "width": cols, "height": rows, "timestamp": int(time.time()), "title": title}
        self._write(header)

    def _write(self, entry: object) -> None:
        if self._file is not None:
            self._file.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")

    def _at(self) -> float:
        return round(time.monotonic() - self._started, 6)

    def output(self, data: bytes | memoryview) -> None:
        """What the shell printed."""
        if text := self._out.decode(data):
            self._write([self._at(), "o", text])

    def input(self, data: bytes) -> None:
        """What a technician typed."""
        if text := self._in.decode(data):
            self._write([self._at(), "i", text])

    def resize(self, cols: int, rows: int) -> None:
        """The terminal changed size."""
        self._write([self._at(), "r", f"{cols}x{rows}"])

    def close(self) -> None:
        """Flush and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
