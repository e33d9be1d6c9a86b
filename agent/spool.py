"""A durable on-disk queue of command results that the hub has not yet confirmed.

Every result is written here *before* the agent tries to send it, one file per command, atomically
(temporary file, fsync, rename), so a result survives a hub restart, a network outage and an agent
restart or crash. A file is removed only after the hub confirmed the result (HTTP 2xx or a
WebSocket ``result_ack``) or answered that the command does not exist (404 ``unknown_command``).
A file that cannot be parsed is renamed to ``*.corrupt`` and kept for inspection, never deleted.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from pydantic import ValidationError

from agent.config import write_atomic
from agent.protocol import CommandResult

log = logging.getLogger(__name__)


class ResultSpool:
    """Results waiting for delivery, oldest first.

    Args:
        directory: The spool directory (created mode 0700 when missing).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, command_id: str) -> Path:
        # Command ids may contain ':' which Windows forbids in file names: name files by digest.
        return self.directory / f"{hashlib.sha256(command_id.encode()).hexdigest()[:40]}.json"

    def put(self, result: CommandResult) -> None:
        """Store ``result`` durably; a second result for the same command replaces the first."""
        write_atomic(self._path(result.command_id), result.model_dump_json().encode(), mode=0o600)

    def remove(self, command_id: str) -> None:
        """Forget a result the hub has confirmed."""
        self._path(command_id).unlink(missing_ok=True)

    def reject(self, command_id: str) -> None:
        """Set aside a result the hub refused as malformed: kept as ``*.rejected``, never resent."""
        path = self._path(command_id)
        if path.is_file():
            path.replace(path.with_suffix(".rejected"))

    def __contains__(self, command_id: object) -> bool:
        return isinstance(command_id, str) and self._path(command_id).is_file()

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*.json"))

    def pending(self) -> list[CommandResult]:
        """Every stored result, oldest first."""
        results: list[tuple[float, str, CommandResult]] = []
        for path in self.directory.glob("*.json"):
            try:
                data = path.read_bytes()
                stamp = path.stat().st_mtime
            except FileNotFoundError:
                continue  # confirmed and removed concurrently
            try:
                results.append((stamp, path.name, CommandResult.model_validate_json(data)))
            except ValidationError as exc:
                corrupt = path.with_suffix(".corrupt")
                path.replace(corrupt)
                log.error("spooled result %s is unreadable (%s); kept as %s", path.name, exc, corrupt.name)
        return [result for _, _, result in sorted(results, key=lambda item: (item[0], item[1]))]
