"""Command history: ad-hoc commands and script runs of a device (or of one approval), newest first.

Each row says what ran (the command line or the script's name), who asked and who approved, when it
started and how long it took, the exit code and the output with the agent's 1 MiB truncation flag.
Read by the device page's Commands tab, the approval card ("the output of what you approved") and
the ``rmm-list-commands`` tool.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.protocol import CommandKind, CommandStatus
from native_rmm.models.commands import Command
from native_rmm.models.devices import Device
from native_rmm.models.scripts import Script
from policies.models import Approval

HISTORY_LIMIT = 100


class CommandHistoryRow(BaseModel):
    """One command of the history."""

    id: int
    device_id: int
    device: str = Field(description="the device's name")
    kind: CommandKind
    what: str = Field(description="the command line, or 'script <name>'")
    shell: str | None
    script_id: int | None
    status: CommandStatus
    requested_by: str
    approval_id: int | None
    approved_by: list[str] = Field(description="who approved it (two names for a two-person approval)")
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None = Field(description="from start to finish, once finished")
    exit_code: int | None
    stdout: str
    stderr: str
    truncated: bool = Field(description="the agent cut the output at 1 MiB")
    error: str | None


def _approvers(approval: Approval | None) -> list[str]:
    if approval is None:
        return []
    names = [approval.first_approver_label, approval.decided_by_label]
    return [n for n in names if n]


def _what(command: Command, script_name: str | None) -> str:
    if command.kind is CommandKind.SCRIPT:
        return f"script {script_name or f'#{command.script_id} (deleted)'}"
    if command.kind is CommandKind.SHELL:
        return command.body
    return command.kind.value.replace("_", " ")


async def command_history(
    session: AsyncSession,
    *,
    org_id: int,
    device_id: int | None = None,
    approval_id: int | None = None,
    before_id: int | None = None,
    limit: int = HISTORY_LIMIT,
) -> list[CommandHistoryRow]:
    """Commands of an organisation (of one device and/or one approval), newest first."""
    stmt = (
        select(Command, Script.name, Approval, Device.display_name, Device.hostname)
        .join(Device, Device.id == Command.device_id)
        .outerjoin(Script, Script.id == Command.script_id)
        .outerjoin(Approval, Approval.id == Command.approval_id)
        .where(Command.org_id == org_id)
    )
    if device_id is not None:
        stmt = stmt.where(Command.device_id == device_id)
    if approval_id is not None:
        stmt = stmt.where(Command.approval_id == approval_id)
    if before_id is not None:
        stmt = stmt.where(Command.id < before_id)
    rows = (await session.execute(stmt.order_by(Command.id.desc()).limit(limit))).all()
    out = []
    for command, script_name, approval, display_name, hostname in rows:
        duration = None
        if command.started_at is not None and command.finished_at is not None:
            duration = max(0.0, (command.finished_at - command.started_at).total_seconds())
        out.append(
            CommandHistoryRow(
                id=command.id,
                device_id=command.device_id,
                device=display_name or hostname,
                kind=command.kind,
                what=_what(command, script_name),
                shell=command.shell.value if command.shell else None,
                script_id=command.script_id,
                status=command.status,
                requested_by=command.created_by,
                approval_id=command.approval_id,
                approved_by=_approvers(approval),
                queued_at=command.queued_at,
                started_at=command.started_at,
                finished_at=command.finished_at,
                duration_seconds=duration,
                exit_code=command.exit_code,
                stdout=command.stdout,
                stderr=command.stderr,
                truncated=command.truncated,
                error=command.error,
            )
        )
    return out
