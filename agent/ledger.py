"""Which commands this agent has already started, so each command id runs at most once.

The hub may hand the same command out twice (pushed, then again at a check-in before the ack
arrived). The ledger persists every started id (atomically, in ``ledger.json``) before the command
runs, and marks it finished once its result is spooled. On start-up, ids that were started but never
finished belong to commands interrupted by an agent restart; the agent reports them ``cancelled``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.config import ConfigError, write_atomic

MAX_ENTRIES = 2000
EntryState = Literal["started", "finished"]


class LedgerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: EntryState
    at: datetime


class _LedgerFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: dict[str, LedgerEntry] = {}


class CommandLedger:
    """Persistent record of started and finished command ids (the newest ``MAX_ENTRIES`` kept).

    Raises:
        ConfigError: the ledger file exists but is corrupt.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, LedgerEntry] = {}
        if path.is_file():
            try:
                self._entries = _LedgerFile.model_validate_json(path.read_bytes()).entries
            except ValidationError as exc:
                raise ConfigError(f"{path} is corrupt ({exc}); delete it to reset the command ledger") from exc

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._entries

    def start(self, command_id: str) -> bool:
        """Record that ``command_id`` starts now; ``False`` when it was already started before."""
        if command_id in self._entries:
            return False
        self._set(command_id, "started")
        return True

    def finish(self, command_id: str) -> None:
        self._set(command_id, "finished")

    def unfinished(self) -> list[str]:
        """Ids started but never finished (interrupted by a restart), oldest first."""
        started = [(entry.at, cid) for cid, entry in self._entries.items() if entry.state == "started"]
        return [cid for _, cid in sorted(started)]

    def _set(self, command_id: str, state: EntryState) -> None:
        self._entries[command_id] = LedgerEntry(state=state, at=datetime.now(UTC))
        if len(self._entries) > MAX_ENTRIES:
            oldest = sorted(self._entries.items(), key=lambda item: item[1].at)[: len(self._entries) - MAX_ENTRIES]
            for cid, _ in oldest:
                del self._entries[cid]
        write_atomic(self.path, _LedgerFile(entries=self._entries).model_dump_json().encode(), mode=0o600)
