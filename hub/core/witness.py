"""Signed checkpoints of the audit chain head, held outside the database.

The chain itself proves that no sealed row was edited, removed from the middle or reordered; it
cannot prove that the *newest* rows were not cut off together with the stored head. So every few
minutes and at shutdown the hub appends the head (seq, hash, time) with an HMAC keyed from the
secret key to a witness file (``RMMHUB_AUDIT_WITNESS``) and logs the same line. Verification
compares the chain with the latest checkpoint: a chain shorter than a checkpoint was truncated; a
chain whose entry at the checkpoint's seq has another hash was rewritten.

One JSON object per line: ``{"seq": 41, "hash": "...", "at": "2026-...Z", "mac": "..."}``.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from pathlib import Path

from pydantic import BaseModel, ValidationError

from hub.core.jsonutil import canonical_json
from hub.core.security import derive_key

KEY_PURPOSE = "audit-witness"


class Checkpoint(BaseModel):
    """One signed record of the chain head."""

    seq: int
    hash: str
    at: datetime
    mac: str = ""

    def body(self) -> bytes:
        """What the MAC covers."""
        return canonical_json({"seq": self.seq, "hash": self.hash, "at": self.at.isoformat()}).encode()


def _mac(secret_key: str, checkpoint: Checkpoint) -> str:
    return hmac.new(derive_key(secret_key, KEY_PURPOSE), checkpoint.body(), sha256).hexdigest()


def sign(secret_key: str, *, seq: int, hash_: str, at: datetime) -> Checkpoint:
    """A checkpoint of head ``seq``/``hash_`` taken at ``at``."""
    unsigned = Checkpoint(seq=seq, hash=hash_, at=at)
    return unsigned.model_copy(update={"mac": _mac(secret_key, unsigned)})


@dataclass(frozen=True)
class WitnessState:
    """What the witness file says: its valid checkpoints by seq, the latest one, and any line that is not one."""

    latest: Checkpoint | None
    problem: str = ""
    by_seq: dict[int, Checkpoint] = field(default_factory=dict)


def read(path: Path, secret_key: str) -> WitnessState:
    """The latest (highest seq) validly signed checkpoint in ``path``; a forged or garbled line is a problem."""
    if not path.exists():
        return WitnessState(None)
    latest: Checkpoint | None = None
    by_seq: dict[int, Checkpoint] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                checkpoint = Checkpoint.model_validate_json(line)
            except ValidationError:
                return WitnessState(latest, f"witness line {number} of {path} is not a checkpoint", by_seq)
            if not hmac.compare_digest(_mac(secret_key, checkpoint), checkpoint.mac):
                return WitnessState(latest, f"witness line {number} of {path} has a bad signature", by_seq)
            by_seq[checkpoint.seq] = checkpoint
            if latest is None or checkpoint.seq >= latest.seq:
                latest = checkpoint
    return WitnessState(latest, "", by_seq)


def append(path: Path, checkpoint: Checkpoint) -> None:
    """Append ``checkpoint`` to the witness file (created with its folder) and flush it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(checkpoint.model_dump(mode="json"), separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
