"""Typed outputs of the command tools; output is trimmed for callers that asked for less."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from agent.protocol import MAX_OUTPUT_BYTES, CommandKind, CommandStatus
from native_rmm.models.commands import Command

#: ``max_chars`` that keeps every byte the agent sent (its output is capped at 1 MiB).
FULL_OUTPUT = MAX_OUTPUT_BYTES


def _trim(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    head = limit * 2 // 3
    tail = limit - head
    return f"{text[:head]}\n... [{len(text) - limit} characters trimmed] ...\n{text[-tail:]}", True


class CommandOut(BaseModel):
    """A command and (when finished) its result."""

    id: int
    device_id: int
    kind: CommandKind
    shell: str | None
    body: str
    status: CommandStatus
    exit_code: int | None
    stdout: str
    stderr: str
    truncated: bool
    output_trimmed: bool
    error: str | None
    created_by: str
    approval_id: int | None
    script_id: int | None
    queued_at: datetime
    delivered_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def of(c: Command, *, max_chars: int = 8000) -> CommandOut:
        """``truncated``: the agent cut the output at 1 MiB; ``output_trimmed``: output (or the command text)
        trimmed to ``max_chars`` here."""
        body, cut_body = _trim(c.body, max_chars)
        stdout, cut_out = _trim(c.stdout, max_chars)
        stderr, cut_err = _trim(c.stderr, max_chars)
        return CommandOut(
            id=c.id,
            device_id=c.device_id,
            kind=c.kind,
            shell=c.shell.value if c.shell else None,
            body=body,
            status=c.status,
            exit_code=c.exit_code,
            stdout=stdout,
            stderr=stderr,
            truncated=c.truncated,
            output_trimmed=cut_out or cut_err or cut_body,
            error=c.error,
            created_by=c.created_by,
            approval_id=c.approval_id,
            script_id=c.script_id,
            queued_at=c.queued_at,
            delivered_at=c.delivered_at,
            started_at=c.started_at,
            finished_at=c.finished_at,
        )
